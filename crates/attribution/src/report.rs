//! What an attribution returns: the split, the scores behind it, and what is missing.

/// The two kinds of weight vector a candidate can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Label {
    /// A first-layer weight a_i.
    FirstLayer,
    /// An entangled weight v_l = A G₀ b_l / ‖A G₀ b_l‖.
    Entangled,
}

/// The result of an [`crate::Attribution`]: which candidates (column indices) are
/// labelled first-layer and which entangled, and the per-candidate score the split used.
///
/// When n candidates are given, `first_layer` has exactly m0 entries and `entangled` the
/// other n − m0; the `missing_entangled = m0 + m1 − n` entangled weights that the candidates
/// lack are reported here, never invented. Within each list the indices are increasing.
#[derive(Clone, Debug, PartialEq)]
pub struct AttributionReport {
    /// The strategy's name ([`crate::Attribution::name`]).
    pub strategy: &'static str,
    /// Indices of the candidates labelled first-layer (a_i), increasing.
    pub first_layer: Vec<usize>,
    /// Indices of the candidates labelled entangled (v_l), increasing.
    pub entangled: Vec<usize>,
    /// How many entangled weights have no candidate (m0 + m1 − n).
    pub missing_entangled: usize,
    /// The score of each candidate (one per column, in input order).
    pub scores: Vec<f64>,
    /// Which label a high score points to: the m0 candidates that lie furthest in this
    /// direction are the first-layer ones (ties go to the earlier, more confident
    /// candidate).
    pub high_score_means: Label,
    /// The gap in score between the two groups at the split (≥ 0; `None` when one group is
    /// empty). A small margin means the split is uncertain.
    pub margin: Option<f64>,
    /// For strategies that use other centres: each centre (length d), in order.
    pub centres: Vec<Vec<f64>>,
    /// For strategies that use other centres: the scores at each centre (one vector per
    /// centre, one entry per candidate); `scores` combines them.
    pub centre_scores: Vec<Vec<f64>>,
}

impl AttributionReport {
    /// The label of candidate `k`.
    ///
    /// # Panics
    /// If `k` is not a candidate index.
    #[track_caller]
    pub fn label(&self, k: usize) -> Label {
        assert!(
            k < self.scores.len(),
            "AttributionReport::label: candidate {k} of {}",
            self.scores.len()
        );
        if self.first_layer.binary_search(&k).is_ok() {
            Label::FirstLayer
        } else {
            Label::Entangled
        }
    }

    /// The labels of all candidates, in input order.
    pub fn labels(&self) -> Vec<Label> {
        (0..self.scores.len()).map(|k| self.label(k)).collect()
    }

    /// The splits one swap away from this one, least certain first: each exchanges one
    /// first-layer candidate with one entangled candidate, ordered by the gap between their
    /// two scores (ties keep index order); at most `count`, as `(first_layer, entangled)`
    /// with increasing indices. A pipeline whose fit fails on this split can try them
    /// (fit-based attribution).
    pub fn one_swap_alternatives(&self, count: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
        let mut pairs: Vec<(f64, usize, usize)> = self
            .first_layer
            .iter()
            .flat_map(|&i| {
                self.entangled
                    .iter()
                    .map(move |&j| ((self.scores[i] - self.scores[j]).abs(), i, j))
            })
            .collect();
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let swap = |list: &[usize], out: usize, into: usize| {
            let mut l: Vec<usize> = list
                .iter()
                .map(|&k| if k == out { into } else { k })
                .collect();
            l.sort_unstable();
            l
        };
        pairs
            .into_iter()
            .take(count)
            .map(|(_, i, j)| (swap(&self.first_layer, i, j), swap(&self.entangled, j, i)))
            .collect()
    }
}

/// Splits candidates by score: the `m0` candidates whose scores lie furthest towards
/// `high_means == FirstLayer` (high scores) or `Entangled` (low scores are first-layer) are
/// first-layer, the rest entangled. Ties go to the lower index. Returns
/// `(first_layer, entangled, margin)`.
pub(crate) fn split_by_score(
    scores: &[f64],
    high_means: Label,
    m0: usize,
) -> (Vec<usize>, Vec<usize>, Option<f64>) {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Order by "first-layer-likeness", most first-layer-like first; stable, so ties keep
    // the candidates' confidence order.
    order.sort_by(|&i, &j| match high_means {
        Label::FirstLayer => scores[j].total_cmp(&scores[i]),
        Label::Entangled => scores[i].total_cmp(&scores[j]),
    });
    let m0 = m0.min(order.len());
    let margin =
        (m0 > 0 && m0 < order.len()).then(|| (scores[order[m0 - 1]] - scores[order[m0]]).abs());
    let mut first = order[..m0].to_vec();
    let mut rest = order[m0..].to_vec();
    first.sort_unstable();
    rest.sort_unstable();
    (first, rest, margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(scores: &[f64], m0: usize) -> AttributionReport {
        let (first_layer, entangled, margin) = split_by_score(scores, Label::FirstLayer, m0);
        AttributionReport {
            strategy: "test",
            first_layer,
            entangled,
            missing_entangled: 0,
            scores: scores.to_vec(),
            high_score_means: Label::FirstLayer,
            margin,
            centres: Vec::new(),
            centre_scores: Vec::new(),
        }
    }

    #[test]
    fn one_swap_alternatives_go_from_the_smallest_score_gap_up() {
        // The (30, 10, 1) case of paper-regime.md scaled down: candidate 0 (score 0.80) is
        // the entangled weight, candidate 3 (0.68) a first-layer weight of a neuron with a
        // tiny outgoing weight.
        let rep = report(&[0.80, 0.99, 0.96, 0.68], 3);
        assert_eq!(
            (rep.first_layer.clone(), rep.entangled.clone()),
            (vec![0, 1, 2], vec![3])
        );
        let alts = rep.one_swap_alternatives(5);
        assert_eq!(
            alts,
            vec![
                (vec![1, 2, 3], vec![0]),
                (vec![0, 1, 3], vec![2]),
                (vec![0, 2, 3], vec![1]),
            ],
            "gaps 0.12, 0.28, 0.31; three pairs exist"
        );
        assert_eq!(rep.one_swap_alternatives(1), alts[..1].to_vec());
        assert!(report(&[0.5, 0.4], 2).one_swap_alternatives(3).is_empty());
    }

    #[test]
    fn split_takes_the_extremes_and_breaks_ties_by_index() {
        let s = [0.9, 0.1, 0.95, 0.1, 0.5];
        let (a, v, margin) = split_by_score(&s, Label::FirstLayer, 2);
        assert_eq!(a, vec![0, 2]);
        assert_eq!(v, vec![1, 3, 4]);
        assert!((margin.unwrap() - 0.4).abs() < 1e-12);
        let (a, v, _) = split_by_score(&s, Label::Entangled, 1);
        assert_eq!(a, vec![1], "the tie at 0.1 goes to the earlier candidate");
        assert_eq!(v, vec![0, 2, 3, 4]);
        let (a, v, margin) = split_by_score(&s[..2], Label::FirstLayer, 2);
        assert_eq!((a, v, margin), (vec![0, 1], vec![], None));
    }
}
