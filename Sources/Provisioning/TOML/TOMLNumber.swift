/// TOML 1.0 integer and float literals: `+1_000`, `0xDEAD_BEEF`, `0o755`, `0b1010`,
/// `6.02e23`, `-1.5E-3`. Underscores must sit between two digits.
enum TOMLNumber {
    /// The integer a token spells, nil if it is not an integer literal at all.
    /// Throws when it is an integer literal that does not fit 64 bits.
    static func integer(_ token: String) throws -> Int64? {
        var text = Substring(token)
        if text.hasPrefix("0x") || text.hasPrefix("0o") || text.hasPrefix("0b") {
            let radix = text.hasPrefix("0x") ? 16 : text.hasPrefix("0o") ? 8 : 2
            text = text.dropFirst(2)
            guard let digits = digitsWithoutUnderscores(text, radix: radix) else { return nil }
            guard let value = Int64(digits, radix: radix) else { throw outOfRange(token) }
            return value
        }
        var sign = ""
        if text.first == "+" || text.first == "-" {
            sign = text.first == "-" ? "-" : ""
            text = text.dropFirst()
        }
        guard let digits = digitsWithoutUnderscores(text, radix: 10) else { return nil }
        if digits.count > 1 && digits.first == "0" { return nil }  // no leading zeros
        guard let value = Int64(sign + digits) else { throw outOfRange(token) }
        return value
    }

    static func float(_ token: String) -> Double? {
        var text = Substring(token)
        if text.first == "+" || text.first == "-" { text = text.dropFirst() }
        let exponentStart = text.firstIndex(where: { $0 == "e" || $0 == "E" })
        let mantissa = exponentStart.map { text[..<$0] } ?? text
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let integerPart = digitsWithoutUnderscores(parts[0], radix: 10) else { return nil }
        if integerPart.count > 1 && integerPart.first == "0" { return nil }
        if parts.count == 2 && digitsWithoutUnderscores(parts[1], radix: 10) == nil { return nil }
        if let exponentStart {
            var exponent = text[text.index(after: exponentStart)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard digitsWithoutUnderscores(exponent, radix: 10) != nil else { return nil }
        } else if parts.count == 1 {
            return nil  // an integer, not a float
        }
        return Double(token.filter { $0 != "_" })
    }

    /// The digits with underscores removed, or nil if an underscore is misplaced or a
    /// character is not a digit of `radix`.
    static func digitsWithoutUnderscores(_ text: Substring, radix: Int) -> String? {
        guard !text.isEmpty, text.first != "_", text.last != "_", !text.contains("__") else { return nil }
        let digits = text.filter { $0 != "_" }
        guard digits.allSatisfy({ $0.isASCII && $0.hexDigitValue.map { $0 < radix } == true }) else { return nil }
        return digits
    }

    static func outOfRange(_ token: String) -> TOMLNumberError {
        TOMLNumberError(token: token)
    }
}

struct TOMLNumberError: Error {
    var token: String
}
