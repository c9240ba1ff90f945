// StatusStack's own format: the event's JSON as it is (docs/events.md), signed with the endpoint's
// secret. It has no settings, no default URL and no answers to read.

#include "formats/common.hpp"
#include "formats/profile.hpp"

namespace statusstack::webhooks::formats {
namespace {

std::string default_url(const FormatSettings&) { return {}; }

Result<void> validate(const FormatSettings&) { return {}; }

Result<FormatSettings> from_fields(FormatFields&& fields) {
  if (fields.routing_key) return unused_field("routing_key", Format::statusstack);
  if (fields.api_key) return unused_field("api_key", Format::statusstack);
  if (fields.site) return unused_field("site", Format::statusstack);
  return FormatSettings{StatusStackFormat{}};
}

}  // namespace

const Profile statusstack_profile{
    Format::statusstack,
    /*needs_url_and_secret=*/true,
    /*events_per_minute=*/0,
    /*max_event_age=*/std::chrono::hours::zero(),
    /*own_header=*/{},
    /*answer_bytes=*/0,
    default_url,
    validate,
    from_fields,
    /*request=*/nullptr,  // the event's JSON as it is
    /*uses_json=*/true,
    /*order_key=*/nullptr,
    /*read_answer=*/nullptr,
};

}  // namespace statusstack::webhooks::formats
