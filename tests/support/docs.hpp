#pragma once

// Test-only: the fenced code blocks of the project's Markdown files, so tests can run the code the
// documentation shows (and fail when the documentation and the code part ways).

#include <string>
#include <vector>

namespace statusstack::webhooks::testing {

/// One fenced block: ```info ... ```.
struct DocBlock {
  std::string file;        ///< the Markdown file, relative to the source tree ("docs/receivers.md")
  std::string info;        ///< the info string after the opening fence ("cpp test"), may be empty
  std::string first_line;  ///< the block's first line
  std::string code;        ///< the whole block, each line ending in '\n', fences excluded
};

/// The contents of a file of the source tree ("docs/troubleshooting.md"). Throws when unreadable.
std::string source_file(const std::string& relative_path);

/// Every fenced block of one Markdown file of the source tree, in order.
std::vector<DocBlock> doc_blocks(const std::string& relative_path);

/// Every fenced block of README.md and docs/*.md.
std::vector<DocBlock> all_doc_blocks();

/// The code of the block of `relative_path` whose first line is exactly `first_line`; throws
/// std::runtime_error when there is none.
std::string doc_block(const std::string& relative_path, const std::string& first_line);

}  // namespace statusstack::webhooks::testing
