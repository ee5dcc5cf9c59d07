/// The `Date` of an HTTP answer (RFC 9110 §5.6.7): the server's clock, to the second. The box
/// reads it from the district's own server when NTP (UDP 123) is blocked, as it is in many
/// schools (`htpdate` does the same).
///
/// Senders must use the IMF-fixdate form; recipients must also accept the two obsolete ones:
///
///     Sun, 06 Nov 1994 08:49:37 GMT      IMF-fixdate
///     Sunday, 06-Nov-94 08:49:37 GMT     RFC 850 (a two-digit year: 1970–2069)
///     Sun Nov  6 08:49:37 1994           asctime()
public enum HTTPDate {
    /// Seconds since 1970-01-01 00:00:00 UTC, or nil when `text` is none of the three forms or
    /// names a day that does not exist.
    public static func seconds(_ text: some StringProtocol) -> Int64? {
        let words = String(text).split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if words.count == 6, words[0].hasSuffix(","), words[5] == "GMT" {  // IMF-fixdate
            guard words[0].count == 4, words[1].count == 2, words[3].count == 4 else { return nil }
            return compose(day: words[1], month: words[2], year: words[3], time: words[4])
        }
        if words.count == 4, words[0].hasSuffix(","), words[3] == "GMT" {  // RFC 850
            let parts = words[1].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, parts[0].count == 2, parts[2].count == 2, let short = Int(parts[2]) else { return nil }
            return compose(day: parts[0], month: parts[1], year: String(short < 70 ? 2000 + short : 1900 + short), time: words[2])
        }
        if words.count == 5, !words[0].hasSuffix(",") {  // asctime: "Sun Nov  6 08:49:37 1994"
            guard words[0].count == 3, (1...2).contains(words[2].count), words[4].count == 4 else { return nil }
            return compose(day: words[2], month: words[1], year: words[4], time: words[3])
        }
        return nil
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func compose(day: String, month: String, year: String, time: String) -> Int64? {
        guard day.allSatisfy(\.isASCIIDigit), year.allSatisfy(\.isASCIIDigit),
              let day = Int(day), let year = Int(year), let month = months.firstIndex(of: month).map({ $0 + 1 }) else { return nil }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCIIDigit) }),
              let hour = Int(clock[0]), let minute = Int(clock[1]), let second = Int(clock[2]),
              hour < 24, minute < 60, second <= 60 else { return nil }  // 60: a leap second
        guard year >= 1970, day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        return (days(year: year, month: month, day: day) * 86_400) + Int64(hour * 3600 + minute * 60 + second)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the date (proleptic Gregorian; H. Hinnant's days_from_civil).
    static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
