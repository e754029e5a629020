// Limits of the firmware upload route (admin-api/src/routes/ota.cpp; docs/ota.md "Admin API").
#pragma once
#include <cstddef>

namespace chargehub::api {

// Largest upload body: a 4 MiB image in base64 plus its manifest; every other route keeps 64 KiB.
inline constexpr size_t kApiBodyMax = 64 * 1024;
inline constexpr size_t kFirmwareUploadMax = ((4u << 20) + 2) / 3 * 4 + 64 * 1024;

}  // namespace chargehub::api
