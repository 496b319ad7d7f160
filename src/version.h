/* SPDX-License-Identifier: MIT */
/* version: the engine's GET /version answer re-cased the way the original served it. */
#pragma once

#include <json-c/json.h>

/* {"docker": {...}} with exactly the original's keys, each a string ("" when the engine lacks it). */
int version_json(json_object *engine, json_object **ret);
