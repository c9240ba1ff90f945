#include "support/docs.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace statusstack::webhooks::testing {

std::string source_file(const std::string& relative_path) {
  std::ifstream in(std::string(SSW_SOURCE_DIR) + "/" + relative_path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + relative_path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<DocBlock> doc_blocks(const std::string& relative_path) {
  std::istringstream in(source_file(relative_path));
  std::vector<DocBlock> blocks;
  DocBlock* open = nullptr;
  for (std::string line; std::getline(in, line);) {
    if (open == nullptr) {
      if (line.rfind("```", 0) == 0) {
        blocks.push_back(DocBlock{relative_path, line.substr(3), "", ""});
        open = &blocks.back();
      }
    } else if (line == "```") {
      open = nullptr;
    } else {
      if (open->code.empty()) open->first_line = line;
      open->code += line + "\n";
    }
  }
  if (open != nullptr) throw std::runtime_error(relative_path + ": a code block is not closed");
  return blocks;
}

std::vector<DocBlock> all_doc_blocks() {
  std::vector<std::string> files{"README.md"};
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SSW_SOURCE_DIR) + "/docs")) {
    if (entry.path().extension() == ".md") files.push_back("docs/" + entry.path().filename().string());
  }
  std::sort(files.begin() + 1, files.end());
  std::vector<DocBlock> blocks;
  for (const auto& file : files) {
    for (auto& block : doc_blocks(file)) blocks.push_back(std::move(block));
  }
  return blocks;
}

std::string doc_block(const std::string& relative_path, const std::string& first_line) {
  for (const DocBlock& block : doc_blocks(relative_path)) {
    if (block.first_line == first_line) return block.code;
  }
  throw std::runtime_error(relative_path + ": no code block starts with \"" + first_line + "\"");
}

}  // namespace statusstack::webhooks::testing
