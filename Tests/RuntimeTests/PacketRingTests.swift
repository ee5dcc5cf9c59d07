import Runtime
import Testing

@Suite struct PacketRingTests {
    struct Record: BitwiseCopyable, Equatable {
        var number: UInt32
        var arrival: UInt64
    }

    @Test func entriesComeOutInOrderWithTheirBytes() {
        let ring = PacketRing<Record>(capacity: 4, maximumLength: 8)
        for number in 0..<3 as Range<UInt32> {
            let data: [UInt8] = Array(repeating: UInt8(number), count: Int(number) + 1)
            let pushed = data.withUnsafeBytes { ring.push(Record(number: number, arrival: UInt64(number) * 10), $0) }
            #expect(pushed)
        }
        #expect(ring.count == 3)
        var seen: [(Record, [UInt8])] = []
        while ring.pop({ seen.append(($0, Array($1))) }) {}
        #expect(seen.map(\.0) == [Record(number: 0, arrival: 0), Record(number: 1, arrival: 10), Record(number: 2, arrival: 20)])
        #expect(seen.map(\.1) == [[0], [1, 1], [2, 2, 2]])
        let poppedFromEmpty = ring.pop { _, _ in Issue.record("popped from an empty ring") }
        #expect(!poppedFromEmpty)
    }

    @Test func aFullRingAndAnOversizedDatagramAreRefused() {
        let ring = PacketRing<Record>(capacity: 2, maximumLength: 4)
        let small: [UInt8] = [1, 2, 3], large: [UInt8] = [1, 2, 3, 4, 5]
        func push(_ bytes: [UInt8], _ number: UInt32) -> Bool {
            bytes.withUnsafeBytes { ring.push(Record(number: number, arrival: 0), $0) }
        }
        #expect(!push(large, 9))
        #expect(push(small, 1))
        #expect(push(small, 2))
        #expect(!push(small, 3))
        var first: UInt32?
        let popped = ring.pop { record, _ in first = record.number }
        #expect(popped && first == 1)
        #expect(push(small, 3))
        var order: [UInt32] = []
        while ring.pop({ record, _ in order.append(record.number) }) {}
        #expect(order == [2, 3])
    }

    /// A producer and a consumer thread at full speed: every accepted datagram arrives once,
    /// in order, with its own bytes (a torn or reordered slot would show up here).
    @Test func twoThreadsHandOverEveryPacketIntact() throws {
        let ring = PacketRing<Record>(capacity: 64, maximumLength: 32)
        let total: UInt32 = 200_000
        let producer = try BackgroundThread(name: "ring-producer") {
            var number: UInt32 = 0
            var data = [UInt8](repeating: 0, count: 32)
            while number < total {
                for index in data.indices { data[index] = UInt8(truncatingIfNeeded: number &+ UInt32(index)) }
                let length = Int(number % 32) + 1
                if data.withUnsafeBytes({ ring.push(Record(number: number, arrival: UInt64(number)), UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) {
                    number += 1
                }
            }
        }
        var expected: UInt32 = 0
        var damaged = 0
        while expected < total {
            ring.pop { record, bytes in
                if record.number != expected || record.arrival != UInt64(expected) || bytes.count != Int(expected % 32) + 1 { damaged += 1 }
                for (index, byte) in bytes.enumerated() where byte != UInt8(truncatingIfNeeded: expected &+ UInt32(index)) { damaged += 1 }
                expected += 1
            }
        }
        producer.join()
        #expect(damaged == 0)
        #expect(ring.count == 0)
    }
}
