//! Keeping a process's secrets from the jobs it starts.

/// Makes this process undumpable (Linux `PR_SET_DUMPABLE` = 0): other
/// processes of the same user, such as the commands of a job, can then no
/// longer read its `/proc/<pid>/environ` or memory, nor attach a debugger.
/// A process started later (`execve`) is dumpable again. Root is not held
/// back by this: run agents as an unprivileged user. Elsewhere it does
/// nothing.
pub fn deny_inspection() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_DUMPABLE takes integer arguments only and
    // touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}
