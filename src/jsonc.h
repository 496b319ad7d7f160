/* SPDX-License-Identifier: MIT */
/* jsonc: automatic cleanup for json-c objects. */
#pragma once

#include <json-c/json.h>

#include "util.h"

static inline void json_object_putp(json_object **o) {
        json_object_put(*o);
}
#define _cleanup_json_ _cleanup_(json_object_putp)
