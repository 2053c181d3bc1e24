# Spool: a filesystem-native task spool for teams of agents.
#   make            build bin/spool and bin/spoold
#   make demo       run the blog-post pipeline in a fresh spool
#   make check      run the unit and integration tests
#   make bench      run the benchmarks, print a table
#   make install    PREFIX=/usr/local DESTDIR=

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR    = $(PREFIX)/bin
SBINDIR   = $(PREFIX)/sbin
SHAREDIR  = $(PREFIX)/share/spool
MANDIR    = $(PREFIX)/share/man
COMPDIR   = $(PREFIX)/share/bash-completion/completions

CC       ?= cc
PKGS      = libgit2 jansson libarchive yaml-0.1 zlib
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-format-truncation -Isrc \
            -DSPOOL_VERSION='"$(VERSION)"' -DSPOOL_SHAREDIR='"$(SHAREDIR)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libarchive is loaded at run time, when first needed (src/larchive.h).
LDLIBS   += $(shell pkg-config --libs $(filter-out libarchive,$(PKGS)) 2>/dev/null) -ldl
# spool loads libgit2 at run time too, when first needed (src/git-load.c);
# the CA loader it overrides (src/cli.c) must stay visible to libgit2.
SPOOL_LDLIBS = $(shell pkg-config --libs $(filter-out libgit2 libarchive,$(PKGS)) 2>/dev/null) -ldl \
            -Wl,--export-dynamic-symbol=mbedtls_x509_crt_parse_file
GIT2_SONAME := $(shell objdump -p "$$(pkg-config --variable=libdir libgit2 2>/dev/null)/libgit2.so" \
            2>/dev/null | awk '/SONAME/ { print $$2 }')

# The library is every src/*.c that is not a front end.
FRONT     = src/spool-main.c src/cli.c src/git-load.c src/spoold.c
CMD_SRC   = $(wildcard src/cmd-*.c)
DAEMON_SRC= $(wildcard src/daemon-*.c)
LIB_SRC   = $(filter-out $(FRONT) $(CMD_SRC) $(DAEMON_SRC),$(wildcard src/*.c))
LIB_OBJ   = $(LIB_SRC:.c=.o)
SPOOL_OBJ = src/spool-main.o src/cli.o src/git-load.o $(CMD_SRC:.c=.o)
SPOOLD_OBJ= $(if $(wildcard src/spoold.c),src/spoold.o $(DAEMON_SRC:.c=.o))
UNIT_SRC  = $(wildcard tests/unit/test-*.c)
UNIT_BIN  = $(UNIT_SRC:.c=)

PROGS     = bin/spool $(if $(wildcard src/spoold.c),bin/spoold)

all: deps-check $(PROGS)

src/libspool.a: $(LIB_OBJ)
	$(AR) rcs $@ $^

bin/spool: $(SPOOL_OBJ) src/libspool.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SPOOL_LDLIBS)

src/git-load.o: CFLAGS += $(if $(GIT2_SONAME),-DSPOOL_LIBGIT2_SONAME='"$(GIT2_SONAME)"')

bin/spoold: $(SPOOLD_OBJ) src/libspool.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(LIB_OBJ) $(SPOOL_OBJ) $(SPOOLD_OBJ): $(wildcard src/*.h)

tests/unit/test-%: tests/unit/test-%.c src/libspool.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# deps installs what is missing (as root) or prints the apt-get line.
deps:
	@sh tests/deps.sh install

deps-check:
	@sh tests/deps.sh check

check: deps all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "# $$t"; $$t; done
	prove -j2 --failures --comments tests/t/

demo: deps all
	sh tests/demo/run.sh

bench: deps all
	sh bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SHAREDIR)
	install -m 755 bin/spool $(DESTDIR)$(BINDIR)/spool
	[ ! -f bin/spoold ] || install -m 755 bin/spoold $(DESTDIR)$(SBINDIR)/spoold
	cp -R spool-layout $(DESTDIR)$(SHAREDIR)/layout
	cp -R skills $(DESTDIR)$(SHAREDIR)/skills
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 644 docs/man/spool.1 $(DESTDIR)$(MANDIR)/man1/spool.1
	install -m 644 docs/man/spool.5 $(DESTDIR)$(MANDIR)/man5/spool.5
	install -m 644 docs/man/spoold.8 $(DESTDIR)$(MANDIR)/man8/spoold.8
	install -m 644 docs/spool.bash-completion $(DESTDIR)$(COMPDIR)/spool
	ln -sf spool $(DESTDIR)$(COMPDIR)/spoold

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/spool $(DESTDIR)$(SBINDIR)/spoold
	rm -rf $(DESTDIR)$(SHAREDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/spool.1 $(DESTDIR)$(MANDIR)/man5/spool.5 \
		$(DESTDIR)$(MANDIR)/man8/spoold.8 $(DESTDIR)$(COMPDIR)/spool \
		$(DESTDIR)$(COMPDIR)/spoold

clean:
	rm -f src/*.o src/libspool.a bin/spool bin/spoold $(UNIT_BIN)

.PHONY: all deps deps-check check demo bench install uninstall clean
