//! Reading the records of `nnid experiment`: path access into the JSON, and grouping.

use serde_json::Value;
use std::collections::BTreeMap;

/// The value at a dotted path (`result.subspace.distance`); array indices are numbers.
pub(crate) fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, key| match cur {
        Value::Array(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => cur.get(key),
    })
}

/// The number at a path.
pub(crate) fn num(v: &Value, path: &str) -> Option<f64> {
    at(v, path).and_then(Value::as_f64)
}

/// The string at a path.
pub(crate) fn text<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    at(v, path).and_then(Value::as_str)
}

/// The boolean at a path (false when absent).
pub(crate) fn flag(v: &Value, path: &str) -> bool {
    at(v, path).and_then(Value::as_bool).unwrap_or(false)
}

/// The size (d, m0, m1) of a record.
pub(crate) fn size(v: &Value) -> [usize; 3] {
    let n = |i: usize| {
        at(v, &format!("trial.size.{i}"))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    };
    [n(0), n(1), n(2)]
}

/// The seed of a record.
pub(crate) fn seed(v: &Value) -> u64 {
    at(v, "trial.seed").and_then(Value::as_u64).unwrap_or(0)
}

/// The experiment kind of a record (`stages`, `fit`, `route`, `student`).
pub(crate) fn kind(v: &Value) -> &str {
    text(v, "trial.experiment.kind").unwrap_or("")
}

/// Whether the record ran (`ok`).
pub(crate) fn ok(v: &Value) -> bool {
    flag(v, "ok")
}

/// Groups records by a key, keeping the key order.
pub(crate) fn group_by<'a, K: Ord>(
    records: impl IntoIterator<Item = &'a Value>,
    key: impl Fn(&Value) -> K,
) -> BTreeMap<K, Vec<&'a Value>> {
    let mut map: BTreeMap<K, Vec<&'a Value>> = BTreeMap::new();
    for r in records {
        map.entry(key(r)).or_default().push(r);
    }
    map
}

/// `(d,m0,m1)`.
pub(crate) fn size_label(s: [usize; 3]) -> String {
    format!("({},{},{})", s[0], s[1], s[2])
}

/// P = d·m0 + m0·m1 + m0 + m1.
pub(crate) fn parameters(s: [usize; 3]) -> usize {
    s[0] * s[1] + s[1] * s[2] + s[1] + s[2]
}

/// The paper's Hessian budget m_X(d+1)(d+2)/2 with m_X = 2(m0 + m1).
pub(crate) fn paper_budget(s: [usize; 3]) -> usize {
    2 * (s[1] + s[2]) * (s[0] + 1) * (s[0] + 2) / 2
}

/// The fit queries of the paper's step 5 with the settings nnid uses (`PaperFitConfig`'s
/// defaults in `crates/bias-fit/src/paper.rs`): d + 1 for the finite-difference gradient at
/// the origin that fixes the signs of the v̂_l, then max(200, 20(m0 + m1)) fresh points for
/// the fit of θ and τ. (xtask does not link the pipeline, hence the formula here; reports
/// prefer the figure counted in the runs.)
pub(crate) fn paper_fit_queries(s: [usize; 3]) -> usize {
    s[0] + 1 + (20 * (s[1] + s[2])).max(200)
}

/// The distinct trials of a spec (as `nnid experiment` dedupes them: the same experiment,
/// size, activation, family, seed and backend once), counted from the spec's JSON.
pub(crate) fn spec_len(spec: &Value) -> usize {
    let mut seen = std::collections::HashSet::new();
    let list = |g: &Value, k: &str, default: Value| {
        g.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| vec![default])
    };
    for g in spec
        .get("grids")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let seeds: Vec<u64> = match g.get("seeds") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_u64).collect(),
            Some(v) => {
                let from = v.get("from").and_then(Value::as_u64).unwrap_or(0);
                (from..from + v.get("count").and_then(Value::as_u64).unwrap_or(0)).collect()
            }
            None => Vec::new(),
        };
        for e in list(g, "experiments", Value::Null)
            .iter()
            .filter(|e| !e.is_null())
        {
            for s in list(g, "sizes", Value::Null)
                .iter()
                .filter(|s| !s.is_null())
            {
                for a in list(g, "activations", Value::from("tanh")) {
                    for f in list(g, "families", Value::Null) {
                        for b in list(g, "backends", Value::from("faer")) {
                            for sd in &seeds {
                                seen.insert(format!("{e}|{s}|{a}|{f}|{sd}|{b}"));
                            }
                        }
                    }
                }
            }
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_nested_values() {
        let v = json!({"trial": {"size": [20, 10, 5], "seed": 3}, "result": {"a": [{"b": 1.5}]}, "ok": true});
        assert_eq!(num(&v, "result.a.0.b"), Some(1.5));
        assert_eq!(size(&v), [20, 10, 5]);
        assert_eq!(seed(&v), 3);
        assert!(ok(&v));
        assert!(at(&v, "result.nope").is_none());
        assert_eq!(parameters([20, 10, 5]), 265);
        assert_eq!(paper_budget([20, 10, 5]), 6930);
        assert_eq!(paper_budget([50, 30, 15]), 119_340);
        assert_eq!(paper_fit_queries([20, 10, 5]), 21 + 300);
        assert_eq!(paper_fit_queries([8, 4, 2]), 9 + 200);
    }

    #[test]
    fn spec_length_counts_distinct_trials() {
        let spec = json!({"grids": [
            {"experiments": [1, 2], "sizes": [[1, 1, 1]], "seeds": {"from": 0, "count": 5}, "backends": ["a", "b", "c"]},
            {"experiments": [1], "sizes": [[1, 1, 1], [2, 2, 2]], "seeds": [1, 2], "activations": ["tanh", "sigmoid"]},
            {"experiments": [1], "sizes": [[2, 2, 2]], "seeds": [1, 2], "activations": ["tanh", "sigmoid"]}
        ]});
        assert_eq!(
            spec_len(&spec),
            2 * 5 * 3 + 2 * 2 * 2,
            "the third grid repeats trials of the second"
        );
    }
}
