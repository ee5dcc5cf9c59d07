/// The codec under the playout, kept codec-free so the box can make its libopus decoder
/// conform and tests can use a fake that writes recognisable samples.
///
/// Shaped on libopus `opus_decode_float` (research note `receive-audio.md` §3): one call
/// decodes a whole packet; `fec: true` rebuilds the *previous*, lost, frame from the in-band
/// FEC (LBRR) data of `packet` (`decode_fec = 1`), degrading to PLC when there is none;
/// `conceal` is PLC (`data = NULL`). `samples` is the exact duration wanted, a multiple of
/// 2.5 ms as libopus requires for PLC and FEC.
public protocol AudioFrameDecoder {
    /// Decodes `packet` into the first `samples` of `output` (mono Float at the RTP rate).
    /// Returns the samples written, nil when the packet is corrupt.
    mutating func decode(_ packet: UnsafeRawBufferPointer, fec: Bool, into output: UnsafeMutableBufferPointer<Float>,
                         samples: Int) -> Int?
    /// Writes `samples` of concealment continuing the last decoded audio (codec PLC).
    mutating func conceal(into output: UnsafeMutableBufferPointer<Float>, samples: Int) -> Int?
    /// Forgets the decoder's history (a new stream).
    mutating func reset()
    /// Whether `packet` carries FEC data for the frame before it (else a rebuild is PLC).
    func hasFEC(_ packet: UnsafeRawBufferPointer) -> Bool
}

extension AudioFrameDecoder {
    public func hasFEC(_ packet: UnsafeRawBufferPointer) -> Bool { true }
}
