#pragma once

// The benchmarks' event: the documented incident.updated sample whose latest update message is
// padded so that to_json() of the whole event is `bytes` long (or as close as the sample allows).

#include <statusstack/webhooks/events.hpp>

#include <string>

namespace bench {

inline statusstack::webhooks::Event event_of_size(std::size_t bytes) {
  namespace ssw = statusstack::webhooks;
  ssw::Event event = ssw::example_event(ssw::EventType::incident_updated);
  auto& incident = std::get<ssw::IncidentUpdated>(event).incident;
  if (!incident.latest_update) incident.latest_update = ssw::IncidentUpdate{};
  incident.latest_update->message.clear();
  const std::size_t base = ssw::to_json(event).size();
  if (bytes > base) incident.latest_update->message.assign(bytes - base, 'x');
  return event;
}

}  // namespace bench
