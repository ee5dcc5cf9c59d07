/// The structured lines of a box's log (`… message key=value key=value`, as BoxLogHandler
/// writes them outside the journal): the fields of every line with `event=<name>`.
public enum BoxLogEvents {
    public static func fields(of event: String, in log: String) -> [[String: String]] {
        log.split(separator: "\n").compactMap { line -> [String: String]? in
            guard line.contains(" event=\(event)") else { return nil }
            var fields: [String: String] = [:]
            // Values are single tokens (numbers, source names); the message before them is not.
            for token in line.split(separator: " ") {
                let parts = token.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty else { continue }
                fields[String(parts[0])] = String(parts[1])
            }
            return fields["event"] == event ? fields : nil
        }
    }
}
