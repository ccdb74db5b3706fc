import CAMQPLinux
import Glibc

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fixed(_ x: Double, _ digits: Int) -> String {
    guard x.isFinite else { return "-" }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = Int((x * scale).rounded())
    let whole = v / Int(scale), frac = abs(v % Int(scale))
    let f = String(frac)
    return digits == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: digits - f.count) + f
}

func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
func rpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

func secondsNow() -> Double { Double(camqp_monotonic_ns()) / 1e9 }
