import CALSA
import CLinux
import CV4L2
import Foundation
import Testing

/// alsa-lib, libv4l2 and the kernel uAPI constants the shims spell out.
@Suite struct LinuxBindingTests {
    @Test func alsaPlaysIntoTheNullPCM() throws {
        var pcm: OpaquePointer?
        try #require(snd_pcm_open(&pcm, "null", SND_PCM_STREAM_PLAYBACK, 0) == 0)
        defer { snd_pcm_close(pcm) }
        var params: OpaquePointer?
        try #require(snd_pcm_hw_params_malloc(&params) == 0)
        defer { snd_pcm_hw_params_free(params) }
        #expect(snd_pcm_hw_params_any(pcm, params) >= 0)
        #expect(snd_pcm_hw_params_set_access(pcm, params, SND_PCM_ACCESS_RW_INTERLEAVED) == 0)
        #expect(snd_pcm_hw_params_set_format(pcm, params, SND_PCM_FORMAT_S16_LE) == 0)
        #expect(snd_pcm_hw_params_set_channels(pcm, params, 1) == 0)
        var rate: UInt32 = 48000
        #expect(snd_pcm_hw_params_set_rate_near(pcm, params, &rate, nil) == 0 && rate == 48000)
        var period: snd_pcm_uframes_t = 480
        #expect(snd_pcm_hw_params_set_period_size_near(pcm, params, &period, nil) == 0)
        #expect(snd_pcm_hw_params(pcm, params) == 0)
        let silence = [Int16](repeating: 0, count: 480)
        var written = 0
        for _ in 0..<100 { written += Int(snd_pcm_writei(pcm, silence, 480)) }
        #expect(written == 48000)
        #expect(String(cString: snd_asoundlib_version()).hasPrefix("1."))
    }

    @Test func v4l2RequestNumbersAndFourCCsMatchTheKernelABI() {
        #expect(CV4L2_VIDIOC_QUERYCAP == 0x8068_5600)
        #expect(CV4L2_VIDIOC_DQBUF == 0xC058_5611)
        #expect(CV4L2_VIDIOC_STREAMON == 0x4004_5612)
        #expect(CV4L2_PIX_FMT_YUV420 == fourcc("YU12"))
        #expect(CV4L2_PIX_FMT_NV12 == fourcc("NV12"))
        #expect(CV4L2_PIX_FMT_YUYV == fourcc("YUYV"))
        #expect(CV4L2_PIX_FMT_MJPEG == fourcc("MJPG"))
        #expect(CV4L2_CID_PRIVACY == 0x009A_0910)
    }

    @Test func v4l2CallsReachTheKernelAndLibv4l2() {
        let fd = open("/dev/null", O_RDWR)
        defer { close(fd) }
        var capability = v4l2_capability()
        #expect(ioctl(fd, CV4L2_VIDIOC_QUERYCAP, &capability) == -1 && errno == ENOTTY)
        #expect(cv4l2_open("/nonexistent/video0", O_RDWR) == -1 && errno == ENOENT)
    }

    @Test func evdevRequestNumbersMatchTheKernelABI() {
        #expect(clinux_eviocgname(256) == 0x8100_4506)
        #expect(clinux_eviocgbit(UInt32(EV_SW), 8) == 0x8008_4525)
        #expect(clinux_eviocgsw(8) == 0x8008_451B)
        #expect(SW_CAMERA_LENS_COVER == 0x09 && KEY_MICMUTE == 248)
    }

    func fourcc(_ text: String) -> UInt32 {
        text.utf8.enumerated().reduce(0) { $0 | UInt32($1.element) << ($1.offset * 8) }
    }
}
