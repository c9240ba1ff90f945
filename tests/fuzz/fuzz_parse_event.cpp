// libFuzzer target: parse_event on arbitrary bytes. Besides "no crash, no sanitizer report",
// it checks the round-trip promise on everything that parses: to_json gives JSON that parses to
// an equal event and prints identically (canonical form is a fixed point).

#include <statusstack/webhooks/events.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ssw = statusstack::webhooks;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ssw::Result<ssw::Event> event = ssw::parse_event(input);
  if (!event) {
    // Every refusal names what was wrong.
    if (event.error().message.empty()) std::abort();
    return 0;
  }
  if (!ssw::validate_event(*event)) {
    std::fprintf(stderr, "parsed event fails validate_event: %s\n",
                 ssw::validate_event(*event).error().message.c_str());
    std::abort();
  }
  const std::string json = ssw::to_json(*event);
  const ssw::Result<ssw::Event> again = ssw::parse_event(json);
  if (!again) {
    std::fprintf(stderr, "canonical JSON does not parse: %s\n%s\n", again.error().message.c_str(),
                 json.c_str());
    std::abort();
  }
  if (!(*again == *event)) {
    std::fprintf(stderr, "round trip changed the event:\n%s\n", json.c_str());
    std::abort();
  }
  if (ssw::to_json(*again) != json) {
    std::fprintf(stderr, "canonical JSON is not a fixed point:\n%s\n", json.c_str());
    std::abort();
  }
  return 0;
}
