/// Where cpdd and cpdctl look by default, so both agree without configuration.
public enum DefaultLocations {
    /// The socket of an installed cpdd (systemd's RuntimeDirectory).
    public static let installedSocket = "/run/cpd/cpdd.sock"
    public static let installedStateDirectory = "/var/lib/cpd"
    /// Relative to the working directory, for cpdd run from a checkout.
    public static let checkoutStateDirectory = ".cpd"
    public static let socketFileName = "cpdd.sock"

    /// True for a program run from an installed location (under /usr) rather than from a checkout.
    public static func isInstalled(executablePath: String) -> Bool {
        executablePath.hasPrefix("/usr/")
    }

    /// `$CPD_SOCKET`, else the installed socket or `./.cpd/cpdd.sock`.
    public static func socket(executablePath: String, environment: [String: String]) -> String {
        if let socket = environment["CPD_SOCKET"], !socket.isEmpty { return socket }
        return isInstalled(executablePath: executablePath) ? installedSocket : checkoutStateDirectory + "/" + socketFileName
    }
}
