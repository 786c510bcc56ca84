"""A seccomp filter that keeps a sandboxed program from making a user namespace of its own.

Without capabilities the program can still call `unshare(CLONE_NEWUSER)` (or `clone` with that
flag) and become root with every capability *inside* a namespace it owns: the door most kernel
privilege escalations of recent years came through. The filter answers those calls with EPERM,
answers `clone3` (whose flags sit behind a pointer seccomp cannot read) with ENOSYS so the C
library falls back to `clone`, and refuses syscalls of a foreign ABI (i386 or x32 on x86-64),
whose numbers would otherwise slip past the table. Everything else is allowed: this is one
locked door, not a syscall allow-list.

Stdlib only and free of package imports: the jail loads it by path, in the program's child.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

__all__ = ["install_userns_filter", "supported"]

_ARCHES = {
    # machine: (AUDIT_ARCH, unshare, clone, clone3, foreign-ABI bit or 0)
    "x86_64": (0xC000003E, 272, 56, 435, 0x40000000),
    "aarch64": (0xC00000B7, 97, 220, 435, 0),
}
CLONE_NEWUSER = 0x10000000
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2

_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16


def supported() -> bool:
    """True where the filter knows this machine's syscall numbers."""
    return os.uname().machine in _ARCHES


def _program() -> bytes:
    audit_arch, unshare, clone, clone3, foreign = _ARCHES[os.uname().machine]
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    # (code, jump-if-true, jump-if-false, k); jumps count instructions after this one
    steps = [
        (_LD_ABS, 0, 0, _ARCH),
        (_JEQ, 1, 0, audit_arch),
        (_RET, 0, 0, enosys),  # a foreign ABI
        (_LD_ABS, 0, 0, _NR),
        (_JGE, 0, 1, foreign or 0xFFFFFFFF),
        (_RET, 0, 0, enosys),  # x32 numbers on x86-64
        (_JEQ, 0, 1, clone3),
        (_RET, 0, 0, enosys),
        (_JEQ, 1, 0, unshare),
        (_JEQ, 0, 3, clone),
        (_LD_ABS, 0, 0, _ARG0),
        (_JSET, 0, 1, CLONE_NEWUSER),
        (_RET, 0, 0, eperm),
        (_RET, 0, 0, _ALLOW),
    ]
    return b"".join(struct.pack("HBBI", *step) for step in steps)


def install_userns_filter(libc: ctypes.CDLL) -> None:
    """Load the filter for this process and its children; needs `no_new_privs` set first."""
    code = _program()
    buffer = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack("HxxxxxxQ", len(code) // 8, ctypes.addressof(buffer))
    prog = ctypes.create_string_buffer(fprog, len(fprog))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
