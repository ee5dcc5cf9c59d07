import Testing
@testable import Display

struct DisplayModeChoiceTests {
    /// A 4K TV's EDID as the kernel lists it: 2160p preferred, then the usual TV modes.
    static let tv4K: [DisplayMode] = [
        .init(width: 3840, height: 2160, refreshHertz: 60, preferred: true), .init(width: 3840, height: 2160, refreshHertz: 30),
        .init(width: 1920, height: 1080, refreshHertz: 60), .init(width: 1920, height: 1080, refreshHertz: 50),
        .init(width: 1920, height: 1080, refreshHertz: 60, interlaced: true), .init(width: 1280, height: 720, refreshHertz: 60),
    ]
    static let projector: [DisplayMode] = [
        .init(width: 1280, height: 800, refreshHertz: 60, preferred: true), .init(width: 1920, height: 1080, refreshHertz: 60),
        .init(width: 1024, height: 768, refreshHertz: 75), .init(width: 1024, height: 768, refreshHertz: 60),
    ]

    @Test func aFourKTelevisionIsDrivenAt1080p() {
        let choice = DisplayModeChoice.choose(among: Self.tv4K, requested: nil)
        #expect(choice?.mode == .init(width: 1920, height: 1080, refreshHertz: 60))
        #expect(choice?.note == nil)
    }

    @Test func theScreensPreferenceIsKeptUpTo1080Lines() {
        #expect(DisplayModeChoice.choose(among: Self.projector, requested: nil)?.mode == Self.projector[0])
    }

    @Test func districtITCanAskForAModeAndARefresh() {
        let asked = DisplayModeChoice.choose(among: Self.tv4K, requested: .init(width: 1920, height: 1080, refreshHertz: 50))
        #expect(asked?.mode == .init(width: 1920, height: 1080, refreshHertz: 50) && asked?.note == nil)
        let full = DisplayModeChoice.choose(among: Self.tv4K, requested: .init(width: 3840, height: 2160))
        #expect(full?.mode == Self.tv4K[0], "4K when IT asks for it")
        let noRefresh = DisplayModeChoice.choose(among: Self.projector, requested: .init(width: 1024, height: 768, refreshHertz: 85))
        #expect(noRefresh?.mode == .init(width: 1024, height: 768, refreshHertz: 75))
        #expect(noRefresh?.note?.contains("not at 85 Hz") == true)
    }

    @Test func aModeTheScreenLacksFallsBackWithANote() {
        let choice = DisplayModeChoice.choose(among: Self.projector, requested: .init(width: 2560, height: 1440))
        #expect(choice?.mode == Self.projector[0])
        #expect(choice?.note == "the screen does not offer 2560x1440; using its own choice")
    }

    @Test func withoutAPreferenceTheLargestProgressiveModeUpTo1080Lines() {
        let modes: [DisplayMode] = [.init(width: 1920, height: 1080, refreshHertz: 60, interlaced: true),
                                    .init(width: 1280, height: 1024, refreshHertz: 75), .init(width: 1280, height: 1024, refreshHertz: 60),
                                    .init(width: 2560, height: 1600, refreshHertz: 60), .init(width: 800, height: 600, refreshHertz: 60)]
        #expect(DisplayModeChoice.choose(among: modes, requested: nil)?.mode == .init(width: 1280, height: 1024, refreshHertz: 60))
        #expect(DisplayModeChoice.choose(among: [], requested: nil) == nil)
        // Only modes above 1080 lines: the smallest of them.
        let large: [DisplayMode] = [.init(width: 3840, height: 2160, refreshHertz: 60), .init(width: 2560, height: 1440, refreshHertz: 144)]
        #expect(DisplayModeChoice.choose(among: large, requested: nil)?.mode == large[1])
    }

    @Test func aMonitorsHighRefreshIsNotChosen() {
        let modes: [DisplayMode] = [.init(width: 1920, height: 1080, refreshHertz: 144, preferred: true),
                                    .init(width: 1920, height: 1080, refreshHertz: 60)]
        // The preferred mode is taken as the screen gives it; IT's size request picks ≤ 60 Hz.
        #expect(DisplayModeChoice.choose(among: modes, requested: nil)?.mode == modes[0])
        #expect(DisplayModeChoice.choose(among: modes, requested: .init(width: 1920, height: 1080))?.mode == modes[1])
    }
}

struct HotplugUeventTests {
    static func message(_ fields: [String]) -> ArraySlice<UInt8> { ArraySlice(fields.joined(separator: "\0").utf8) }

    @Test func aDRMHotplugIsRecognisedAndOtherUeventsAreNot() {
        #expect(HotplugMonitor.isDRMHotplug(Self.message(["change@/devices/pci0000:00/0000:00:02.0/drm/card0", "ACTION=change",
                                                          "DEVPATH=/devices/pci0000:00/0000:00:02.0/drm/card0", "SUBSYSTEM=drm",
                                                          "HOTPLUG=1", "DEVNAME=dri/card0", "SEQNUM=1234"])))
        #expect(!HotplugMonitor.isDRMHotplug(Self.message(["add@/devices/virtual/sound/card1", "ACTION=add", "SUBSYSTEM=sound"])))
        #expect(!HotplugMonitor.isDRMHotplug(Self.message(["change@/devices/x/drm/card0", "SUBSYSTEM=drm", "HOTPLUG=0"])))
        #expect(!HotplugMonitor.isDRMHotplug(Self.message(["SUBSYSTEM=drmx", "HOTPLUG=1"])))
        #expect(!HotplugMonitor.isDRMHotplug([]))
    }
}
