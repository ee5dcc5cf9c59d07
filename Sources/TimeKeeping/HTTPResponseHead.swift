/// The head of an HTTP/1.1 answer (RFC 9112 §4–5): the status line and the header fields up to
/// the empty line. The time source reads only the status and `Date`; the body is never read.
///
///     HTTP/1.1 200 OK\r\n
///     Date: Mon, 07 Dec 2026 10:07:22 GMT\r\n
///     Content-Type: text/html\r\n
///     \r\n
public struct HTTPResponseHead: Sendable, Equatable {
    public var status: Int
    /// The `Date` field's value in seconds since 1970, nil when absent or not a date.
    public var date: Int64?

    /// A head larger than this is not an answer the box waits for.
    public static let maximumSize = 16 * 1024

    public enum Reading: Sendable, Equatable {
        /// The empty line has not come yet (and the bytes are still under ``maximumSize``).
        case incomplete
        case malformed(String)
        case complete(HTTPResponseHead)
    }

    /// Reads the head from the start of an answer.
    public static func read(_ bytes: some Collection<UInt8>) -> Reading {
        let bytes = Array(bytes.prefix(maximumSize + 4))
        guard let end = headEnd(bytes) else {
            return bytes.count >= maximumSize ? .malformed("no end of the header within \(maximumSize) octets") : .incomplete
        }
        guard let text = String(validating: bytes[..<end], as: UTF8.self) else { return .malformed("the header is not text") }
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), statusLine[0].count == 8,
              statusLine[1].count == 3, let status = Int(statusLine[1]), (100...599).contains(status) else {
            return .malformed("not an HTTP/1.x status line")
        }
        var date: Int64?
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { return .malformed("a header line without ':'") }
            let name = line[..<colon]
            guard !name.isEmpty, !name.contains(" ") else { return .malformed("a header name with a space") }
            if name.lowercased() == "date" {
                date = HTTPDate.seconds(line[line.index(after: colon)...].trimmingSpaces())
            }
        }
        return .complete(HTTPResponseHead(status: status, date: date))
    }

    private static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}
