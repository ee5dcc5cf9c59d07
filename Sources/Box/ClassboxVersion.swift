/// The firmware's version. Update bundles carry the git description next to it.
public enum ClassboxVersion {
    public static let current = "0.1.0"
}
