/* SPDX-License-Identifier: MIT */
/* curlsym: libcurl, loaded the first time an engine is needed; its functions through sym_ pointers. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

#include "curlsym.h"
#include "util.h"

CURL *(*sym_curl_easy_init)(void);
CURLcode (*sym_curl_easy_setopt)(CURL *h, CURLoption option, ...);
CURLcode (*sym_curl_easy_perform)(CURL *h);
CURLcode (*sym_curl_easy_getinfo)(CURL *h, CURLINFO info, ...);
void (*sym_curl_easy_cleanup)(CURL *h);
const char *(*sym_curl_easy_strerror)(CURLcode code);
CURLcode (*sym_curl_easy_recv)(CURL *h, void *buf, size_t len, size_t *n);
CURLcode (*sym_curl_easy_send)(CURL *h, const void *buf, size_t len, size_t *n);
char *(*sym_curl_easy_escape)(CURL *h, const char *s, int len);
void (*sym_curl_free)(void *p);
struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
void (*sym_curl_slist_free_all)(struct curl_slist *l);

static char error[512];
static int loaded; /* 0 not yet, 1 loaded, negative errno: failed for good */

/* The pointer to a function pointer, whatever its type: what dlsym() fills. */
#define SYM(name)                                                                                           \
        { #name, (void **)&sym_##name }

int curlsym_load(void) {
        static const struct {
                const char *name;
                void **ptr;
        } syms[] = {
                SYM(curl_easy_init),
                SYM(curl_easy_setopt),
                SYM(curl_easy_perform),
                SYM(curl_easy_getinfo),
                SYM(curl_easy_cleanup),
                SYM(curl_easy_strerror),
                SYM(curl_easy_recv),
                SYM(curl_easy_send),
                SYM(curl_easy_escape),
                SYM(curl_free),
                SYM(curl_slist_append),
                SYM(curl_slist_free_all),
        };
        CURLcode (*global_init)(long flags);
        void *lib;

        if (loaded)
                return loaded > 0 ? 0 : loaded;
        /* Never closed: the handler is short-lived, and curl's handles live as long as it does. */
        lib = dlopen(CURLSYM_SONAME, RTLD_LAZY | RTLD_LOCAL);
        if (!lib) {
                snprintf(error, sizeof(error), "%s could not be loaded: %s", CURLSYM_SONAME, dlerror());
                return (loaded = -ELIBACC);
        }
        for (size_t i = 0; i < ELEMENTSOF(syms); i++) {
                *syms[i].ptr = dlsym(lib, syms[i].name);
                if (!*syms[i].ptr) {
                        snprintf(error, sizeof(error), "%s has no %s", CURLSYM_SONAME, syms[i].name);
                        return (loaded = -ELIBACC);
                }
        }
        *(void **)&global_init = dlsym(lib, "curl_global_init");
        if (!global_init || global_init(CURL_GLOBAL_NOTHING) != CURLE_OK) {
                snprintf(error, sizeof(error), "%s could not be initialized", CURLSYM_SONAME);
                return (loaded = -ELIBACC);
        }
        loaded = 1;
        return 0;
}

const char *curlsym_error(void) {
        return error[0] ? error : "libcurl was not loaded";
}
