internal import CLinux

/// The calling OS thread.
public enum CurrentThread {
    /// Names the thread (first 15 bytes), as `top -H` and crash reports show it.
    public static func setName(_ name: String) {
        _ = clinux_set_thread_name(String(name.prefix(15)))
    }
}
