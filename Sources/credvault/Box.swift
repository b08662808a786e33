/// The framed boxes the login verbs print (as the SkillMeat CLI does).
enum Box {
    /// The box, every line with its control characters made visible (server text goes in here).
    static func render(title: String, lines: [String]) -> String {
        let title = title.escapingControls()
        let lines = lines.map { $0.escapingControls() }
        let width = max(44, (lines.map(\.count) + [title.count + 4]).max()! + 4)
        var output = "┌─ \(title) " + String(repeating: "─", count: max(0, width - title.count - 3)) + "┐\n"
        output += "│" + String(repeating: " ", count: width) + "│\n"
        for line in lines {
            output += "│  " + line + String(repeating: " ", count: max(0, width - line.count - 2)) + "│\n"
        }
        output += "│" + String(repeating: " ", count: width) + "│\n"
        output += "└" + String(repeating: "─", count: width) + "┘\n"
        return output
    }
}
