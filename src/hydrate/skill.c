/*
 * Agent Skills: a directory holding SKILL.md, whose YAML front matter
 * (between two '---' lines at the top) has name and description. The
 * front matter is parsed with libyaml; problems name the file and line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "error.h"
#include "hydrate.h"

bool spool_skill_name_valid(const char *name)
{
	size_t n = 0;
	char prev = '-';

	if (!name)
		return false;
	for (const char *p = name; *p; p++, n++) {
		if (*p == '-') {
			if (prev == '-')
				return false;
		} else if (!((*p >= 'a' && *p <= 'z') ||
			     (*p >= '0' && *p <= '9'))) {
			return false;
		}
		prev = *p;
	}
	return n >= 1 && n <= SPOOL_SKILL_NAME_MAX && prev != '-';
}

/* Why a name is not valid, for the message. */
static const char *name_problem(const char *name)
{
	size_t n = strlen(name);

	if (n == 0)
		return "is empty";
	if (n > SPOOL_SKILL_NAME_MAX)
		return "is longer than 64 characters";
	for (const char *p = name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return "must be lowercase";
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return "may hold only a-z, 0-9 and hyphens";
	if (name[0] == '-')
		return "must not start with a hyphen";
	if (name[n - 1] == '-')
		return "must not end with a hyphen";
	if (strstr(name, "--"))
		return "must not hold two hyphens in a row";
	return NULL;
}

/* Characters (code points) of UTF-8 text. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
			return false;
	return true;
}

__attribute__((format(printf, 4, 5)))
static int diag(spool_skill *s, const char *file, int line, const char *fmt,
		...)
{
	spool_skill_diag *d;
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	d = realloc(s->diags, (s->ndiags + 1) * sizeof(*d));
	if (!d)
		return spool_error_set(SPOOL_ERROR, "out of memory");
	s->diags = d;
	d = &d[s->ndiags];
	d->file = strdup(file);
	d->message = strdup(buf);
	d->line = line;
	if (!d->file || !d->message) {
		free(d->file);
		free(d->message);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	s->ndiags++;
	return 0;
}

void spool_skill_diag_format(char *buf, size_t len, const spool_skill_diag *d)
{
	if (d->line > 0)
		snprintf(buf, len, "%s:%d: %s", d->file, d->line, d->message);
	else
		snprintf(buf, len, "%s: %s", d->file, d->message);
}

void spool_skill_free(spool_skill *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ndiags; i++) {
		free(s->diags[i].file);
		free(s->diags[i].message);
	}
	free(s->diags);
	free(s->dir);
	free(s->name);
	free(s->description);
	free(s);
}

/* Length of the line at p (without its end), and where the next starts. */
static size_t line_at(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

	*next = nl ? nl + 1 : end;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	return n;
}

static bool is_fence(const char *p, size_t n)
{
	while (n > 3 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n == 3 && memcmp(p, "---", 3) == 0;
}

/* A scalar node's value, or NULL. */
static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

static int line_of(yaml_node_t *n, int base)
{
	return (int)n->start_mark.line + base;
}

static int check_fields(spool_skill *s, yaml_document_t *doc, const char *file,
			const char *dirname, int base)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	yaml_node_t *name = NULL, *desc = NULL;
	int rc = 0;

	if (!root || (root->type == YAML_SCALAR_NODE &&
		      blank((const char *)root->data.scalar.value)))
		return diag(s, file, base - 1, "front matter is empty; "
			    "it needs 'name' and 'description'");
	if (root->type != YAML_MAPPING_NODE)
		return diag(s, file, line_of(root, base),
			    "front matter must be a mapping of keys to values");

	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && rc == 0; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		const char *key = scalar(k);

		if (!key) {
			rc = diag(s, file, line_of(k, base),
				  "front matter keys must be plain strings");
			continue;
		}
		for (yaml_node_pair_t *q = root->data.mapping.pairs.start;
		     q < p; q++) {
			const char *other =
				scalar(yaml_document_get_node(doc, q->key));
			if (other && strcmp(other, key) == 0) {
				rc = diag(s, file, line_of(k, base),
					  "key '%s' appears twice", key);
				break;
			}
		}
		if (rc < 0)
			break;
		if (strcmp(key, "name") == 0) {
			if (!name)
				name = v;
		} else if (strcmp(key, "description") == 0) {
			if (!desc)
				desc = v;
		} else if (strcmp(key, "compatibility") == 0) {
			const char *c = scalar(v);
			if (!c)
				rc = diag(s, file, line_of(v, base),
					  "'compatibility' must be a string");
			else if (utf8_len(c) > SPOOL_SKILL_COMPAT_MAX)
				rc = diag(s, file, line_of(v, base),
					  "'compatibility' is longer than "
					  "500 characters");
		} else if (strcmp(key, "metadata") == 0) {
			if (v->type != YAML_MAPPING_NODE)
				rc = diag(s, file, line_of(v, base),
					  "'metadata' must be a mapping");
		}
	}
	if (rc < 0)
		return rc;

	if (!name) {
		rc = diag(s, file, base - 1, "front matter has no 'name'");
	} else if (!scalar(name)) {
		rc = diag(s, file, line_of(name, base),
			  "'name' must be a string");
	} else {
		const char *nm = scalar(name);
		const char *why = name_problem(nm);

		if (!(s->name = strdup(nm)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		if (why)
			rc = diag(s, file, line_of(name, base),
				  "name '%s' %s", nm, why);
		else if (dirname && strcmp(nm, dirname) != 0)
			rc = diag(s, file, line_of(name, base),
				  "name '%s' does not match the directory "
				  "name '%s'", nm, dirname);
	}
	if (rc < 0)
		return rc;

	if (!desc) {
		rc = diag(s, file, base - 1, "front matter has no 'description'");
	} else if (!scalar(desc)) {
		rc = diag(s, file, line_of(desc, base),
			  "'description' must be a string");
	} else {
		const char *d = scalar(desc);

		if (!(s->description = strdup(d)))
			return spool_error_set(SPOOL_ERROR, "out of memory");
		if (blank(d))
			rc = diag(s, file, line_of(desc, base),
				  "'description' is empty");
		else if (utf8_len(d) > SPOOL_SKILL_DESC_MAX)
			rc = diag(s, file, line_of(desc, base),
				  "'description' is %zu characters; the most "
				  "is 1024", utf8_len(d));
	}
	return rc;
}

static int check_text(spool_skill *s, const char *text, size_t len,
		      const char *file, const char *dirname)
{
	const char *p = text, *end = text + len, *next, *fm, *fm_end = NULL;
	int lineno = 1, close_line = 0, rc;
	yaml_parser_t parser;
	yaml_document_t doc;

	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	if (memchr(text, '\0', len))
		return diag(s, file, 0, "SKILL.md holds a NUL byte; "
			    "it must be text");
	if (!is_fence(p, line_at(p, end, &next)))
		return diag(s, file, 1, "SKILL.md must start with a '---' line "
			    "opening the YAML front matter");
	fm = next;
	for (p = next; p < end; p = next) {
		size_t n = line_at(p, end, &next);

		lineno++;
		if (is_fence(p, n)) {
			fm_end = p;
			close_line = lineno;
			break;
		}
	}
	if (!fm_end)
		return diag(s, file, 1, "the front matter opened here is not "
			    "closed by a '---' line");
	(void)close_line;

	if (!yaml_parser_initialize(&parser))
		return spool_error_set(SPOOL_ERROR, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)fm,
				     (size_t)(fm_end - fm));
	if (!yaml_parser_load(&parser, &doc)) {
		/* Point at where the broken construct began, when known. */
		int line = (int)(parser.context ? parser.context_mark.line
				 : parser.problem_mark.line) + 2;

		if (parser.context)
			rc = diag(s, file, line, "front matter does not parse: "
				  "%s %s", parser.problem ? parser.problem
				  : "error", parser.context);
		else
			rc = diag(s, file, line, "front matter does not parse: "
				  "%s", parser.problem ? parser.problem
				  : "error");
		yaml_parser_delete(&parser);
		return rc;
	}
	/* Marks count from the line after the opening '---' (line 2). */
	rc = check_fields(s, &doc, file, dirname, 2);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

static spool_skill *skill_new(const char *dir)
{
	spool_skill *s = calloc(1, sizeof(*s));

	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		spool_error_set(SPOOL_ERROR, "out of memory");
		return NULL;
	}
	return s;
}

int spool_skill_check_text(spool_skill **out, const char *text, size_t len,
			   const char *file, const char *dirname)
{
	spool_skill *s = skill_new(file);
	int rc;

	*out = NULL;
	if (!s)
		return SPOOL_ERROR;
	rc = check_text(s, text, len, file, dirname);
	if (rc < 0) {
		spool_skill_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

/* The last component of dir ("a/b/" -> "b"); "." and ".." resolved. */
static char *dir_basename(const char *dir)
{
	char buf[PATH_MAX], *slash, *copy;
	size_t n;

	if (strlen(dir) >= sizeof(buf))
		return NULL;
	strcpy(buf, dir);
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	slash = strrchr(buf, '/');
	copy = slash ? slash + 1 : buf;
	if (strcmp(copy, ".") == 0 || strcmp(copy, "..") == 0 || !*copy) {
		char real[PATH_MAX];

		if (!realpath(dir, real))
			return NULL;
		slash = strrchr(real, '/');
		return strdup(slash ? slash + 1 : real);
	}
	return strdup(copy);
}

static int read_skill_md(spool_skill *s, const char *dir, const char *file,
			 char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;
	int fd;

	*text = NULL;
	if (stat(dir, &st) < 0)
		return diag(s, dir, 0, "cannot read the skill directory: %s",
			    strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return diag(s, dir, 0, "not a directory; a skill is a "
			    "directory holding SKILL.md");
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return diag(s, file, 0, "SKILL.md is a symbolic link; "
				    "some runtimes ignore a linked SKILL.md, "
				    "so it must be a regular file");
		if (errno == ENOENT)
			return diag(s, file, 0, "no SKILL.md; a skill is a "
				    "directory holding SKILL.md");
		return diag(s, file, 0, "cannot read: %s", strerror(errno));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return diag(s, file, 0, "SKILL.md is not a regular file");
	}
	if (st.st_size > SPOOL_SKILL_FILE_MAX) {
		close(fd);
		return diag(s, file, 0, "SKILL.md is larger than 1 MiB");
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return spool_error_set(SPOOL_ERROR, "out of memory");
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

int spool_skill_check(spool_skill **out, const char *dir)
{
	spool_skill *s = skill_new(dir);
	char file[PATH_MAX], *text = NULL, *base = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (!s)
		return SPOOL_ERROR;
	snprintf(file, sizeof(file), "%s%sSKILL.md", dir,
		 dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/");
	rc = read_skill_md(s, dir, file, &text, &len);
	if (rc == 0 && text) {
		base = dir_basename(dir);
		rc = check_text(s, text, len, file, base);
	}
	free(text);
	free(base);
	if (rc < 0) {
		spool_skill_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int spool_skill_load(spool_skill **out, const char *dir)
{
	spool_skill *s;
	char buf[1200];
	int rc;

	*out = NULL;
	if ((rc = spool_skill_check(&s, dir)) < 0)
		return rc;
	if (s->ndiags) {
		spool_skill_diag_format(buf, sizeof(buf), &s->diags[0]);
		spool_skill_free(s);
		return spool_error_set(SPOOL_EINVALID, "%s", buf);
	}
	*out = s;
	return 0;
}
