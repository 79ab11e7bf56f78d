import Foundation

@_exported import class LocalPostgres.ChildProcess

/// The project's checkout, found from this file's path; built programs are in .build/debug.
public enum Checkout {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    public static func product(_ name: String) -> String { root + "/.build/debug/" + name }
}
