// Admin API routes for firmware and rollouts (issue 9; docs/ota.md "Admin API"). Same conventions as the
// other routes: Bearer API key (checked by the server's pre-routing handler that api::mount installs),
// JSON in and out, errors as {"error": code, "message": text}.
//
//   POST /api/v1/firmware                    upload a package file (JSON: manifest + image_base64)
//   GET  /api/v1/firmware[/<id>]             the registry
//   POST /api/v1/rollouts                    {"firmware_id", "target", "stages", "max_failure_pct", "max_concurrent"}
//   GET  /api/v1/rollouts[/<id>]             progress and counts per device state
//   POST /api/v1/rollouts/<id>/(pause|resume|cancel)
//   GET  /api/v1/rollouts/<id>/devices       per-device progress (?state=&limit=&after=)
//   GET  /api/v1/ota/stats                   chunks and bytes served, offers sent
#pragma once
#include <cstddef>
#include <vector>

#include "chargehub/admin_api.hpp"

namespace chargehub::core {
class Ota;
}

namespace chargehub::api {

// Largest upload body: a 4 MiB image in base64 plus its manifest. The server's payload limit must be
// at least this (core/src/main.cpp raises it in the OTA wiring);
// body_object() in admin_api.cpp keeps the 413 answer of the other routes for bodies over kApiBodyMax.
inline constexpr size_t kApiBodyMax = 64 * 1024;   // every other route (docs/admin-api.md)
inline constexpr size_t kFirmwareUploadMax = ((4u << 20) + 2) / 3 * 4 + 64 * 1024;

void mount_ota(httplib::Server& srv, core::Ota& ota, std::vector<ApiKey> keys);

}  // namespace chargehub::api
