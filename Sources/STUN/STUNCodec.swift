import Crypto
import Wire

extension STUNMessage {
    /// FINGERPRINT is the CRC-32 of the message XORed with this (§14.7).
    static let fingerprintXOR: UInt32 = 0x5354_554E

    /// The message on the wire. With `integrityKey` (ICE: the peer's password) a
    /// MESSAGE-INTEGRITY follows the attributes; with `fingerprint`, a FINGERPRINT ends it.
    public func encoded(integrityKey: [UInt8]? = nil, fingerprint: Bool = true) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        func append16(_ value: UInt16) { bytes += [UInt8(value >> 8), UInt8(value & 0xFF)] }
        func setLength(_ length: Int) {
            bytes[2] = UInt8(length >> 8)
            bytes[3] = UInt8(length & 0xFF)
        }
        append16(messageType)
        append16(0)
        bytes += STUNAttribute.bigEndian(Self.magicCookie) + transactionID
        for attribute in attributes where attribute.type != .messageIntegrity && attribute.type != .fingerprint {
            append16(attribute.type.rawValue)
            append16(UInt16(attribute.value.count))
            bytes += attribute.value
            bytes += [UInt8](repeating: 0, count: (4 - attribute.value.count % 4) % 4)
        }
        if let integrityKey {
            // §14.5: the HMAC covers the message with its length counting the integrity attribute.
            setLength(bytes.count - Self.headerLength + 24)
            let mac = bytes.withUnsafeBytes { Digest.hmacSHA1(key: integrityKey, $0) }
            append16(STUNAttributeType.messageIntegrity.rawValue)
            append16(20)
            bytes += mac
        }
        if fingerprint {
            setLength(bytes.count - Self.headerLength + 8)
            let crc = bytes.withUnsafeBytes { CRC32.checksum($0) } ^ Self.fingerprintXOR
            append16(STUNAttributeType.fingerprint.rawValue)
            append16(4)
            bytes += STUNAttribute.bigEndian(crc)
        }
        setLength(bytes.count - Self.headerLength)
        return bytes
    }

    /// Parses a datagram. A FINGERPRINT, when present, must be right (and last); attributes
    /// after MESSAGE-INTEGRITY other than FINGERPRINT are ignored, as §14.5 requires.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws(STUNError) -> STUNMessage {
        guard bytes.count >= headerLength else { throw .truncated }
        guard looksLikeSTUN(bytes) else { throw .notSTUN }
        var reader = ByteReader(bytes)
        let type = reader.readUInt16()!
        let length = Int(reader.readUInt16()!)
        guard length % 4 == 0, headerLength + length == bytes.count else { throw .badLength }
        _ = reader.readUInt32()
        let transactionID = Array(reader.readBytes(12)!)
        let classBits = type & 0x0110
        let method = (type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2
        guard let messageClass = Class(rawValue: classBits) else { throw .notSTUN }
        var attributes: [STUNAttribute] = []
        var afterIntegrity = false
        while reader.remaining > 0 {
            let start = reader.offset
            guard let rawType = reader.readUInt16(), let valueLength = reader.readUInt16(),
                  let value = reader.readBytes(Int(valueLength)) else { throw .truncated }
            guard reader.skip((4 - Int(valueLength) % 4) % 4) else { throw .truncated }
            let attributeType = STUNAttributeType(rawValue: rawType)
            if attributeType == .fingerprint {
                guard valueLength == 4, reader.remaining == 0 else { throw .badAttribute(type: rawType) }
                var copy = Array(bytes[0..<start])
                let adjusted = start - headerLength + 8
                copy[2] = UInt8(adjusted >> 8)
                copy[3] = UInt8(adjusted & 0xFF)
                let expected = copy.withUnsafeBytes { CRC32.checksum($0) } ^ fingerprintXOR
                guard value.reduce(0, { $0 << 8 | UInt32($1) }) == expected else { throw .fingerprintMismatch }
            }
            if afterIntegrity && attributeType != .fingerprint { continue }
            if attributeType == .messageIntegrity {
                guard valueLength == 20 else { throw .badAttribute(type: rawType) }
                afterIntegrity = true
            }
            attributes.append(STUNAttribute(type: attributeType, value: Array(value)))
        }
        return STUNMessage(method: method, messageClass: messageClass, transactionID: transactionID, attributes: attributes)
    }

    /// Checks MESSAGE-INTEGRITY of the datagram `bytes` (which decoded to a message) under `key`.
    public static func verifyIntegrity(_ bytes: UnsafeRawBufferPointer, key: [UInt8]) throws(STUNError) {
        var reader = ByteReader(bytes, offset: headerLength)
        while reader.remaining >= 4 {
            let start = reader.offset
            guard let rawType = reader.readUInt16(), let valueLength = reader.readUInt16(),
                  let value = reader.readBytes(Int(valueLength)), reader.skip((4 - Int(valueLength) % 4) % 4) else { throw .truncated }
            guard rawType == STUNAttributeType.messageIntegrity.rawValue else { continue }
            var covered = Array(bytes[0..<start])
            let adjusted = start - headerLength + 24
            covered[2] = UInt8(adjusted >> 8)
            covered[3] = UInt8(adjusted & 0xFF)
            let mac = covered.withUnsafeBytes { Digest.hmacSHA1(key: key, $0) }
            guard Digest.constantTimeEqual(mac, Array(value)) else { throw .integrityMismatch }
            return
        }
        throw .missingIntegrity
    }
}
