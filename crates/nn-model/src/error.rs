//! Errors of the network model and of oracles.

/// Something wrong with a network's parameters or its file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A field has the wrong length.
    #[error("`{field}`: expected {expected} entries, got {got}")]
    Shape {
        /// The field, as named in the JSON format.
        field: String,
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A parameter is NaN or infinite.
    #[error("`{field}`: entry {index} is {value}; parameters must be finite")]
    NonFinite {
        /// The field.
        field: String,
        /// Flat index of the bad entry.
        index: usize,
        /// The bad value.
        value: f64,
    },
    /// A width or the dimension is zero.
    #[error("a network needs d, m0, m1 ≥ 1 (got d = {d}, m0 = {m0}, m1 = {m1})")]
    Empty {
        /// Input dimension.
        d: usize,
        /// First width.
        m0: usize,
        /// Second width.
        m1: usize,
    },
    /// An activation name nnid does not know.
    #[error("unknown activation `{name}`; expected `tanh` or `sigmoid`")]
    UnknownActivation {
        /// The name given.
        name: String,
    },
    /// The JSON text could not be parsed into the network format.
    #[error("network file: {0}")]
    Json(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A network file (or other named source) is invalid; `error` says how.
    #[error("{path}: {error}")]
    InFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        error: Box<ModelError>,
    },
    /// A generator setting is invalid.
    #[error("invalid setting `{field}`: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// Why.
        reason: String,
    },
}

/// Something went wrong while querying a black box.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OracleError {
    /// A query point had the wrong dimension.
    #[error("query {index}: point has dimension {got}, the oracle expects {expected}")]
    Dimension {
        /// Index of the point in the batch.
        index: usize,
        /// The oracle's input dimension.
        expected: usize,
        /// The point's length.
        got: usize,
    },
    /// A query point had a NaN or infinite coordinate.
    #[error("query {index}: coordinate {coord} is {value}; query points must be finite")]
    NonFiniteQuery {
        /// Index of the point in the batch.
        index: usize,
        /// The coordinate.
        coord: usize,
        /// The value.
        value: f64,
    },
    /// The oracle answered NaN or infinity.
    #[error("query {index}: the oracle answered {value}")]
    NonFiniteAnswer {
        /// Index of the point in the batch.
        index: usize,
        /// The answer.
        value: f64,
    },
    /// The oracle's answer could not be read as a number.
    #[error("query {index}: the oracle answered `{text}`, which is not a number")]
    Unparsable {
        /// Index of the point in the batch.
        index: usize,
        /// What it said.
        text: String,
    },
    /// The oracle process ended or closed its output before answering.
    #[error(
        "query {index}: the oracle stopped answering after {answered} of {asked} answers in this batch ({detail})"
    )]
    Ended {
        /// Index of the first unanswered point in the batch.
        index: usize,
        /// Answers received in this batch.
        answered: usize,
        /// Points sent in this batch.
        asked: usize,
        /// Exit status or stderr, where known.
        detail: String,
    },
    /// The oracle program gave no answer within the time limit (it was stopped).
    #[error(
        "query {index}: no answer within {seconds} s; stopped the oracle program (a program that buffers its output must flush it after each answer)"
    )]
    Timeout {
        /// Index of the unanswered point in the batch.
        index: usize,
        /// The time limit in seconds.
        seconds: f64,
    },
    /// The oracle program could not be started or talked to.
    #[error("oracle program `{command}`: {reason}")]
    Process {
        /// The command line.
        command: String,
        /// What failed.
        reason: String,
    },
}
