/*
 * Signed commits, in the format git verifies (gpg.format=ssh): the
 * commit is made as a buffer, signed by ssh-keygen -Y sign in the "git"
 * namespace, and written with the signature in its gpgsig header. No
 * cryptography here: ssh-keygen signs, git verifies.
 *
 * Signing is on when the config has "signing": {"key": PATH}; an
 * operator's commands may use their own key with $SPOOL_SIGNING_KEY.
 * With signing on, a commit that cannot be signed is not written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "root.h"
#include "sign.h"

#define SIG_MAX (64 * 1024)

const char *spool_signing_key(const spool *sp)
{
	const char *env = getenv("SPOOL_SIGNING_KEY");
	json_t *s = json_object_get(spool_config(sp), "signing");

	if (env && *env)
		return env;
	return json_string_value(json_object_get(s, "key"));
}

/* ssh-keygen -Y sign -f key -n git path: writes path.sig. */
static int keygen_sign(const char *key, const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot fork ssh-keygen");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
		}
		execlp("ssh-keygen", "ssh-keygen", "-q", "-Y", "sign", "-f", key,
		       "-n", "git", path, (char *)NULL);
		dprintf(2, "spool: cannot run ssh-keygen: %s\n",
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return spool_error_sys(SPOOL_ERROR, "ssh-keygen");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return spool_error_set(SPOOL_ERROR, "cannot sign the commit "
				       "with '%s': ssh-keygen failed", key);
	return 0;
}

static int read_sig(char **out, const char *path)
{
	char *buf = malloc(SIG_MAX);
	ssize_t n;
	int fd;

	*out = NULL;
	if (!buf)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		free(buf);
		return spool_error_sys(SPOOL_ERROR, "cannot read '%s'", path);
	}
	n = read(fd, buf, SIG_MAX - 1);
	close(fd);
	if (n <= 0) {
		free(buf);
		return spool_error_set(SPOOL_ERROR, "ssh-keygen wrote no "
				       "signature");
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int spool_commit_sign(git_oid *out, spool *sp, const char *key,
		      const char *content)
{
	char path[PATH_MAX], sigpath[PATH_MAX + 8];
	char *sig = NULL;
	size_t len = strlen(content);
	int fd, rc;

	/* In .spool/run, which only the spool's owner writes. */
	snprintf(path, sizeof(path), "%s/.spool/run/commit.XXXXXX",
		 spool_root(sp));
	if ((fd = mkstemp(path)) < 0)
		return spool_error_sys(SPOOL_ERROR, "cannot make a file to "
				       "sign");
	rc = write(fd, content, len) == (ssize_t)len ? 0
	   : spool_error_sys(SPOOL_ERROR, "cannot write '%s'", path);
	close(fd);
	snprintf(sigpath, sizeof(sigpath), "%s.sig", path);
	unlink(sigpath);
	if (rc == 0 && (rc = keygen_sign(key, path)) == 0 &&
	    (rc = read_sig(&sig, sigpath)) == 0) {
		/* git's header holds it without the last newline */
		size_t n = strlen(sig);
		while (n > 0 && sig[n - 1] == '\n')
			sig[--n] = '\0';
		if (git_commit_create_with_signature(out, sp->repo, content,
						     sig, "gpgsig") < 0)
			rc = spool_error_git("cannot write the signed commit");
	}
	unlink(path);
	unlink(sigpath);
	free(sig);
	return rc;
}
