/* Rules for secret-typed keys (CT_SECRET, and APD_KEY_SECRET of plugins):
 * a minimum length, so an empty or toy value cannot silently turn
 * authentication off, and a check against the example secrets shipped in
 * the repository's config/, which anyone can read. */
#ifndef APPEALSD_SECRETS_H
#define APPEALSD_SECRETS_H

#include <stdbool.h>
#include <stddef.h>

/* Shortest accepted secret when a key names no minimum of its own. */
#define SECRET_MIN_LEN 16

/* 0 when v is at least min bytes long; otherwise -1 with the reason in why. */
int secret_check_length(const char *v, size_t min, char *why, size_t wl);
/* Whether v is one of the example secrets shipped in config/ (or the demo). */
bool secret_is_example(const char *v);

#endif
