/* SPDX-License-Identifier: MIT */
/* curlsym: libcurl, loaded the first time an engine is needed; its functions through sym_ pointers. */
#pragma once

#include <curl/curl.h>

/* The shared object loaded; its soname has been libcurl.so.4 since libcurl 7.16. */
#define CURLSYM_SONAME "libcurl.so.4"

/* Every libcurl function the engine client uses, as systemd loads its optional libraries: resolved once. */
extern CURL *(*sym_curl_easy_init)(void);
extern CURLcode (*sym_curl_easy_setopt)(CURL *h, CURLoption option, ...);
extern CURLcode (*sym_curl_easy_perform)(CURL *h);
extern CURLcode (*sym_curl_easy_getinfo)(CURL *h, CURLINFO info, ...);
extern void (*sym_curl_easy_cleanup)(CURL *h);
extern const char *(*sym_curl_easy_strerror)(CURLcode code);
extern CURLcode (*sym_curl_easy_recv)(CURL *h, void *buf, size_t len, size_t *n);
extern CURLcode (*sym_curl_easy_send)(CURL *h, const void *buf, size_t len, size_t *n);
extern char *(*sym_curl_easy_escape)(CURL *h, const char *s, int len);
extern void (*sym_curl_free)(void *p);
extern struct curl_slist *(*sym_curl_slist_append)(struct curl_slist *l, const char *s);
extern void (*sym_curl_slist_free_all)(struct curl_slist *l);

/*
 * Load libcurl and resolve the functions above, once per process (later calls return at once), and
 * initialize it. Returns 0, or -ELIBACC with the loader's reason in curlsym_error().
 */
int curlsym_load(void);

/* Why curlsym_load() failed, for the answer and the log. */
const char *curlsym_error(void);
