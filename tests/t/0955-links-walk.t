#!/usr/bin/env bash
# 0950 again where the kernel has no openat2() (before Linux 5.6): paths
# are then walked one O_NOFOLLOW directory at a time, and every link is
# refused the same way.
export SPOOL_NO_OPENAT2=1
exec bash "$(dirname "$0")/0950-links.t"
