import ArgumentParser

/// On the error path only: when the first word that is not an option names no verb,
/// the nearest verb by edit distance (as for a misspelt option, which ArgumentParser
/// already suggests), or nil.
enum VerbSuggestion {
    /// The verbs `credvault` knows, by their command names.
    static var verbs: [String] {
        Credvault.configuration.subcommands.compactMap { $0.configuration.commandName }
    }

    /// The unknown first verb of `arguments` and the verb to suggest, when there is one within
    /// two edits (or one that starts with it).
    static func suggestion(for arguments: [String]) -> (given: String, verb: String)? {
        guard let given = firstWord(arguments), !verbs.contains(given) else { return nil }
        let ranked = verbs.map { ($0, distance(given, $0)) }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        if let best = ranked.first, best.1 <= 2 { return (given, best.0) }
        if let prefixed = verbs.first(where: { $0.hasPrefix(given) }) { return (given, prefixed) }
        return nil
    }

    /// The first argument that is neither an option nor an option's value.
    static func firstWord(_ arguments: [String]) -> String? {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if ["--backend", "--app", "--code"].contains(argument) { index += 2; continue }
            if argument.hasPrefix("-") { index += 1; continue }
            return argument
        }
        return nil
    }

    /// Levenshtein distance over characters.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1] + Array(repeating: 0, count: b.count)
            for (j, y) in b.enumerated() {
                current[j + 1] = min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
