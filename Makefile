# Spool: a filesystem-native task spool for teams of agents.
#   make            build bin/spool and bin/spoold
#   make demo       run the blog-post pipeline in a fresh spool
#   make check      run the unit and integration tests
#   make unit       build and run the unit tests only
#   make torture    the long torture run: 100,000 racing transitions, 50 kill -9
#                   of spoold (TORTURE_TRANSITIONS, TORTURE_KILLS, TORTURE_TASKS)
#   make bench      run the benchmarks, print a table
#   make install    PREFIX=/usr/local DESTDIR= (UNITDIR: the systemd unit)
#
# Objects, the library and the unit tests go to build/ (BUILD=dir to
# change it), never among the sources; each object's header dependencies
# are tracked (-MMD -MP). Only the programs go to bin/.
#
# Warnings are errors (-Werror) in a development build: by default in a
# git checkout, except for `make install`; elsewhere (a release tarball)
# a newer compiler's new warning must not break the build. DEV=1 or DEV=0
# decides explicitly.

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR    = $(PREFIX)/bin
SBINDIR   = $(PREFIX)/sbin
SHAREDIR  = $(PREFIX)/share/spool
MANDIR    = $(PREFIX)/share/man
COMPDIR   = $(PREFIX)/share/bash-completion/completions
UNITDIR  ?= $(PREFIX)/lib/systemd/system

BUILD    ?= build
ifneq ($(filter install,$(MAKECMDGOALS)),)
DEV      ?= 0
endif
DEV      ?= $(if $(wildcard .git),1,0)

# The layers, lowest first; the library is every one below the programs.
LIB_DIRS  = core fs git spool hydrate
SRC_DIRS  = $(LIB_DIRS) daemon cmd

CC       ?= cc
PKGS      = libgit2 jansson libarchive yaml-0.1 zlib
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -Wall -Wextra -Wno-format-truncation \
            $(if $(filter 1,$(DEV)),-Werror)
CPPFLAGS += -D_GNU_SOURCE -Isrc $(addprefix -Isrc/,$(SRC_DIRS)) \
            -DSPOOL_VERSION='"$(VERSION)"' -DSPOOL_SHAREDIR='"$(SHAREDIR)"' \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPFLAGS  = -MMD -MP
# libarchive is loaded at run time, when first needed (src/spool/larchive.h).
LDLIBS   += $(shell pkg-config --libs $(filter-out libarchive,$(PKGS)) 2>/dev/null) -ldl
# spool loads libgit2 at run time too, when first needed (src/cmd/git-load.c).
SPOOL_LDLIBS = $(shell pkg-config --libs $(filter-out libgit2 libarchive,$(PKGS)) 2>/dev/null) -ldl
GIT2_SONAME := $(shell objdump -p "$$(pkg-config --variable=libdir libgit2 2>/dev/null)/libgit2.so" \
            2>/dev/null | awk '/SONAME/ { print $$2 }')

# A file left in src/ itself is library code not yet sorted into a layer.
LIB_SRC   = $(wildcard src/*.c $(addsuffix /*.c,$(addprefix src/,$(LIB_DIRS))))
SPOOL_SRC = $(wildcard src/cmd/*.c)
SPOOLD_SRC= $(wildcard src/daemon/*.c)
obj       = $(patsubst src/%.c,$(BUILD)/%.o,$(1))
LIB_OBJ   = $(call obj,$(LIB_SRC))
SPOOL_OBJ = $(call obj,$(SPOOL_SRC))
SPOOLD_OBJ= $(call obj,$(SPOOLD_SRC))
LIB       = $(BUILD)/libspool.a
UNIT_SRC  = $(wildcard tests/unit/test-*.c)
UNIT_BIN  = $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))

PROGS     = bin/spool $(if $(SPOOLD_SRC),bin/spoold)

all: deps-check $(PROGS)

$(BUILD)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

bin/spool: $(SPOOL_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SPOOL_LDLIBS)

$(BUILD)/cmd/git-load.o: CPPFLAGS += $(if $(GIT2_SONAME),-DSPOOL_LIBGIT2_SONAME='"$(GIT2_SONAME)"')

bin/spoold: $(SPOOLD_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/test-%: tests/unit/test-%.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

-include $(patsubst %.o,%.d,$(LIB_OBJ) $(SPOOL_OBJ) $(SPOOLD_OBJ)) \
	$(addsuffix .d,$(UNIT_BIN))

# deps installs what is missing (as root) or prints the apt-get line.
deps:
	@sh tests/deps.sh install

deps-check:
	@sh tests/deps.sh check

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "# $$t"; $$t; done

check: deps all unit
	prove -j2 --failures --comments --exec tests/run-one.sh tests/t/

# The short run of the same test is part of check.
torture: deps all
	TORTURE_TASKS=$${TORTURE_TASKS:-2000} \
	TORTURE_TRANSITIONS=$${TORTURE_TRANSITIONS:-100000} \
	TORTURE_KILLS=$${TORTURE_KILLS:-50} \
	TORTURE_MAX_SECONDS=$${TORTURE_MAX_SECONDS:-3600} \
	TORTURE_SETTLE_SECONDS=$${TORTURE_SETTLE_SECONDS:-300} \
	TORTURE_STRICT=1 TEST_TIMEOUT=$${TEST_TIMEOUT:-7200} \
	prove -v tests/t/0610-torture.t

demo: deps all
	sh tests/demo/run.sh

bench: deps all
	sh bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(SHAREDIR)
	install -m 755 bin/spool $(DESTDIR)$(BINDIR)/spool
	install -m 755 bin/spool-launch $(DESTDIR)$(BINDIR)/spool-launch
	[ ! -f bin/spoold ] || install -m 755 bin/spoold $(DESTDIR)$(SBINDIR)/spoold
	cp -R spool-layout $(DESTDIR)$(SHAREDIR)/layout
	cp -R skills $(DESTDIR)$(SHAREDIR)/skills
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(COMPDIR)
	install -m 644 docs/man/spool.1 $(DESTDIR)$(MANDIR)/man1/spool.1
	install -m 644 docs/man/spool.5 $(DESTDIR)$(MANDIR)/man5/spool.5
	install -m 644 docs/man/spoold.8 $(DESTDIR)$(MANDIR)/man8/spoold.8
	install -m 644 docs/spool.bash-completion $(DESTDIR)$(COMPDIR)/spool
	install -m 644 docs/man/spool-launch.1 $(DESTDIR)$(MANDIR)/man1/spool-launch.1
	ln -sf spool $(DESTDIR)$(COMPDIR)/spoold
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' docs/spoold@.service \
		>$(DESTDIR)$(UNITDIR)/spoold@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/spoold@.service
	sed 's|/usr/local/|$(PREFIX)/|g' docs/spool-work@.service \
		>$(DESTDIR)$(UNITDIR)/spool-work@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/spool-work@.service

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/spool $(DESTDIR)$(SBINDIR)/spoold \
		$(DESTDIR)$(BINDIR)/spool-launch \
		$(DESTDIR)$(UNITDIR)/spoold@.service
	rm -rf $(DESTDIR)$(SHAREDIR)
	rm -f $(DESTDIR)$(MANDIR)/man1/spool.1 $(DESTDIR)$(MANDIR)/man5/spool.5 \
		$(DESTDIR)$(MANDIR)/man8/spoold.8 $(DESTDIR)$(COMPDIR)/spool \
		$(DESTDIR)$(COMPDIR)/spoold \
		$(DESTDIR)$(MANDIR)/man1/spool-launch.1 \
		$(DESTDIR)$(UNITDIR)/spool-work@.service

clean:
	rm -rf $(BUILD)
	rm -f bin/spool bin/spoold

.PHONY: all deps deps-check unit check torture demo bench install uninstall clean
