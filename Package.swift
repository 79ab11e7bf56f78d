// swift-tools-version:6.1
// The cpd registry: one target per layer, so the folder list shows the architecture.
//   CLibPQ        the C library, and only what Swift cannot call directly (shim.h)
//   Postgres      a thin, safe Swift layer over libpq; knows nothing of CPD
//   LocalPostgres a private PostgreSQL cluster for running and testing (initdb, pg_ctl)
//   CPDCore       the domain: pure Swift, no I/O
//   CPDStore      the SQL that maps the domain onto tables, and the migrations runner
//   AdminProtocol lines in, lines out: parsing and formatting, pure
//   CPDServer     the daemon's runtime: socket, connections, lifecycle
//   CPDReport     the nightly report's files (CSV, JSON, HTML with SVG charts), published atomically
import PackageDescription

let package = Package(
    name: "cpd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cpdd", targets: ["cpdd"]),
        .executable(name: "cpdctl", targets: ["cpdctl"]),
        .executable(name: "cpd-bench", targets: ["cpd-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Linux's epoll for cpd-bench's load client (Glibc's module leaves sys/epoll.h out).
        .systemLibrary(name: "CEpoll"),
        // Day arithmetic shared by the Postgres layer and the domain, which must not depend on each other.
        .target(name: "CivilCalendar"),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ", "CivilCalendar",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "LocalPostgres",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "CPDCore", dependencies: ["CivilCalendar"]),
        .target(
            name: "CPDStore",
            dependencies: ["CPDCore", "Postgres", "CivilCalendar", .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "AdminProtocol"),
        // A blocking client for the admin socket: cpdctl's, and the tests'.
        .target(name: "AdminClient", dependencies: ["AdminProtocol"]),
        .target(
            name: "CPDServer",
            dependencies: [
                "AdminProtocol", "CPDCore", "CPDStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "cpdd",
            dependencies: [
                "CPDServer", "CPDStore", "LocalPostgres", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "CPDReport", dependencies: ["AdminProtocol", "CPDCore"]),
        .executableTarget(
            name: "cpdctl",
            dependencies: [
                "AdminClient", "AdminProtocol", "CPDCore", "CPDReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Measuring: registries of a chosen size, and figures (docs/performance.md).
        .executableTarget(
            name: "cpd-bench",
            dependencies: [
                "AdminClient", "CEpoll", "CPDCore", "CPDStore", "LocalPostgres", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Shared by the test targets only: a fresh database per suite on the test command's server.
        .target(name: "TestSupport", dependencies: ["Postgres", "LocalPostgres"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "LocalPostgres", "TestSupport"]),
        // The request parser under libFuzzer (docs/fuzzing.md); built normally it replays a corpus.
        .executableTarget(name: "cpd-fuzz", dependencies: ["AdminProtocol"]),
        .testTarget(name: "CPDCoreTests", dependencies: ["CPDCore"]),
        .testTarget(name: "AdminProtocolTests", dependencies: ["AdminProtocol"]),
        // The load client's answer counting, which must agree with cpdd and Redis on partial reads.
        .testTarget(name: "CPDBenchTests", dependencies: ["cpd-bench"]),
        .testTarget(name: "CPDReportTests", dependencies: ["CPDReport", "CPDCore", "TestSupport"]),
        .testTarget(name: "CPDStoreTests", dependencies: ["CPDStore", "Postgres", "TestSupport"]),
        .testTarget(name: "CPDServerTests", dependencies: ["CPDServer", "AdminClient", "AdminProtocol", "CPDStore", "LocalPostgres", "Postgres", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
