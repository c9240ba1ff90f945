#include "detail/strict_json.hpp"

#include "detail/text.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdint>
#include <unordered_set>
#include <vector>

namespace statusstack::webhooks::detail {
namespace rj = rapidjson;

namespace {

// A path segment is written `.key` when the key is a plain identifier, else `["key"]` (quoted,
// escaped, shortened), so an error message never carries raw hostile bytes.
bool is_plain_key(std::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (const char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

void append_key(std::string& path, std::string_view key) {
  if (is_plain_key(key)) {
    if (!path.empty()) path += '.';
    path.append(key.data(), key.size());
  } else {
    path += '[';
    path += quote_for_message(key, 32);
    path += ']';
  }
}

// Forwards SAX events to a Document, refusing nesting beyond max_depth, a key repeated in one
// object, and strings whose decoded bytes are not UTF-8 (a lone surrogate written as \udc00 passes
// RapidJSON's encoding check). Keeps the path of the value being read for error messages.
class GuardedHandler {
 public:
  GuardedHandler(rj::Document& document, int max_depth)
      : document_(document), max_depth_(static_cast<std::size_t>(max_depth < 0 ? 0 : max_depth)) {}

  bool Null() { return next_value() && document_.Null(); }
  bool Bool(bool b) { return next_value() && document_.Bool(b); }
  bool Int(int i) { return next_value() && document_.Int(i); }
  bool Uint(unsigned u) { return next_value() && document_.Uint(u); }
  bool Int64(std::int64_t i) { return next_value() && document_.Int64(i); }
  bool Uint64(std::uint64_t u) { return next_value() && document_.Uint64(u); }
  bool Double(double d) { return next_value() && document_.Double(d); }
  bool RawNumber(const char* text, rj::SizeType length, bool copy) {
    return next_value() && document_.RawNumber(text, length, copy);
  }
  bool String(const char* text, rj::SizeType length, bool copy) {
    if (!next_value()) return false;
    if (!is_valid_utf8(std::string_view(text, length))) return reject("string is not valid UTF-8");
    return document_.String(text, length, copy);
  }
  bool StartObject() { return next_value() && push(true) && document_.StartObject(); }
  bool Key(const char* text, rj::SizeType length, bool copy) {
    Frame& frame = frames_[depth_ - 1];
    frame.key.assign(text, length);
    frame.has_key = true;
    if (!is_valid_utf8(frame.key)) return reject("key is not valid UTF-8");
    if (!frame.keys.insert(frame.key).second) return reject("duplicate key");
    return document_.Key(text, length, copy);
  }
  bool EndObject(rj::SizeType count) {
    --depth_;
    return document_.EndObject(count);
  }
  bool StartArray() { return next_value() && push(false) && document_.StartArray(); }
  bool EndArray(rj::SizeType count) {
    --depth_;
    return document_.EndArray(count);
  }

  const std::optional<JsonFailure>& refusal() const { return refusal_; }

 private:
  struct Frame {
    bool object = true;
    bool has_key = false;
    std::size_t count = 0;  // array elements started so far
    std::string key;        // the current member's key
    std::unordered_set<std::string> keys;
  };

  bool next_value() {
    if (depth_ > 0 && !frames_[depth_ - 1].object) ++frames_[depth_ - 1].count;
    return true;
  }

  bool push(bool object) {
    if (depth_ == max_depth_) return reject("nested deeper than " + std::to_string(max_depth_) + " levels");
    if (frames_.size() == depth_) frames_.emplace_back();
    Frame& frame = frames_[depth_];
    frame.object = object;
    frame.has_key = false;
    frame.count = 0;
    frame.keys.clear();
    ++depth_;
    return true;
  }

  std::string path() const {
    std::string out;
    for (std::size_t i = 0; i < depth_; ++i) {
      const Frame& frame = frames_[i];
      if (frame.object && frame.has_key) {
        append_key(out, frame.key);
      } else if (!frame.object && frame.count > 0) {
        out += '[' + std::to_string(frame.count - 1) + ']';
      }
    }
    return out;
  }

  bool reject(const std::string& what) {
    JsonFailure failure;
    failure.path = path();
    failure.message = failure.path.empty() ? what : failure.path + ": " + what;
    refusal_ = std::move(failure);
    return false;
  }

  rj::Document& document_;
  std::size_t max_depth_;
  std::vector<Frame> frames_;
  std::size_t depth_ = 0;
  std::optional<JsonFailure> refusal_;
};

}  // namespace

std::optional<JsonFailure> parse_strict_json(std::string_view json, rj::Document& document, int max_depth) {
  GuardedHandler guard(document, max_depth);
  rj::ParseResult result;
  auto generate = [&](rj::Document&) {
    rj::MemoryStream stream(json.data(), json.size());
    rj::Reader reader;
    // Iterative: nesting costs heap, not stack. No kParseStopWhenDoneFlag: trailing data is an error.
    result = reader.Parse<rj::kParseValidateEncodingFlag | rj::kParseIterativeFlag>(stream, guard);
    return !result.IsError();
  };
  document.Populate(generate);
  if (!result.IsError()) return std::nullopt;
  JsonFailure failure;
  if (guard.refusal()) {
    failure = *guard.refusal();
  } else {
    failure.message = rj::GetParseError_En(result.Code());
    failure.syntax = true;
  }
  failure.offset = result.Offset();
  return failure;
}

std::string line_and_column(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

}  // namespace statusstack::webhooks::detail
