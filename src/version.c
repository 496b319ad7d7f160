/* SPDX-License-Identifier: MIT */
/* version: the engine's GET /version answer re-cased the way the original served it. */
#include <errno.h>

#include "jsonc.h"
#include "util.h"
#include "version.h"

static json_object *engine_string(json_object *from, const char *key) {
        json_object *v;

        if (json_object_object_get_ex(from, key, &v) && json_object_is_type(v, json_type_string))
                return json_object_new_string(json_object_get_string(v));
        return json_object_new_string("");
}

int version_json(json_object *engine, json_object **ret) {
        static const char *const keys[][2] = {
                { "Version", "version" },
                { "ApiVersion", "apiVersion" },
                { "GitCommit", "gitCommit" },
                { "GoVersion", "goVersion" },
                { "Os", "os" },
                { "Arch", "arch" },
                { "KernelVersion", "kernelVersion" },
                { "BuildTime", "buildTime" },
        };
        _cleanup_json_ json_object *docker = json_object_new_object(), *platform = json_object_new_object(),
                                   *components = json_object_new_array(), *top = json_object_new_object();
        json_object *v;

        if (!docker || !platform || !components || !top)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (json_object_object_add(docker, keys[i][1], engine_string(engine, keys[i][0])) < 0)
                        return -ENOMEM;
        if (!json_object_object_get_ex(engine, "Platform", &v))
                v = NULL;
        if (json_object_object_add(platform, "name", engine_string(v, "Name")) < 0)
                return -ENOMEM;
        if (json_object_object_get_ex(engine, "Components", &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v); i++) {
                        json_object *from = json_object_array_get_idx(v, i), *c = json_object_new_object();

                        if (!c || json_object_array_add(components, c) < 0 ||
                                json_object_object_add(c, "name", engine_string(from, "Name")) < 0 ||
                                json_object_object_add(c, "version", engine_string(from, "Version")) < 0)
                                return -ENOMEM;
                }
        if (json_object_object_add(docker, "platform", TAKE_PTR(platform)) < 0 ||
                json_object_object_add(docker, "components", TAKE_PTR(components)) < 0 ||
                json_object_object_add(top, "docker", TAKE_PTR(docker)) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(top);
        return 0;
}
