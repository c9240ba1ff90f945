#pragma once

// Umbrella header: the whole public API of statusstack-webhooks.
// Including a single part (e.g. <statusstack/webhooks/signature.hpp>) costs less to compile.

#include <statusstack/webhooks/client.hpp>
#include <statusstack/webhooks/dispatcher.hpp>
#include <statusstack/webhooks/endpoint.hpp>
#include <statusstack/webhooks/error.hpp>
#include <statusstack/webhooks/events.hpp>
#include <statusstack/webhooks/formats.hpp>
#include <statusstack/webhooks/headers.hpp>
#include <statusstack/webhooks/network.hpp>
#include <statusstack/webhooks/receiver.hpp>
#include <statusstack/webhooks/retry.hpp>
#include <statusstack/webhooks/rules.hpp>
#include <statusstack/webhooks/signature.hpp>
#include <statusstack/webhooks/version.hpp>
