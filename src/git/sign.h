/* Signing commits with an SSH key, as git verifies them (sign.c). */
#ifndef SPOOL_SIGN_H
#define SPOOL_SIGN_H

#include <git2.h>

#include "root.h"

/* The key to sign commits with, or NULL when signing is off; and the
 * commit content signed and written as a commit. */
const char *spool_signing_key(const spool *sp);
int spool_commit_sign(git_oid *out, spool *sp, const char *key,
		      const char *content);

#endif
