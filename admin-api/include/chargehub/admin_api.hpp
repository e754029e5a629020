// The admin HTTP API, served by the core process: its kernel (admin-api/src/kernel/) and its route
// tables per area (admin-api/src/routes/). Routes and fields: docs/admin-api.md and the OpenAPI document
// at GET /api/v1/openapi.json (kept as docs/openapi.json).
#pragma once
#include "kernel/kernel.hpp"
#include "routes/routes.hpp"
