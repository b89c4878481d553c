//! The network file format (docs/file-format.md):
//!
//! ```json
//! {"input_dim": d,
//!  "layer1": {"activation": "tanh", "weights": [[…d numbers], … m0 rows], "shifts": [… m0]},
//!  "layer2": {"activation": "tanh", "weights": [[…m0 numbers], … m1 rows], "shifts": [… m1]}}
//! ```
//!
//! Row i of `layer1.weights` is a_i, row l of `layer2.weights` is b_l. Reading is strict:
//! unknown fields, unknown activations, wrong lengths and numbers outside the `f64` range are
//! errors that name the field (`layer1.weights[3]`). Writing keeps every number's shortest
//! round-trip representation, so write → read gives back the identical network.

use crate::{Activation, ModelError, Network};
use nnid_linalg::Mat;
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkFile {
    input_dim: usize,
    layer1: LayerFile,
    layer2: LayerFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerFile {
    activation: Activation,
    weights: Vec<Vec<f64>>,
    shifts: Vec<f64>,
}

impl Network {
    /// Parses a network from the JSON format.
    ///
    /// # Errors
    /// [`ModelError::Json`] for text that is not the format (syntax, unknown or missing fields,
    /// unknown activations, numbers out of the `f64` range; the message names the field),
    /// [`ModelError::Shape`] for rows or shifts of the wrong length, [`ModelError::Empty`] for
    /// a zero dimension or width.
    pub fn from_json_str(text: &str) -> Result<Self, ModelError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file: NetworkFile = serde_path_to_error::deserialize(&mut de).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if path == "." {
                ModelError::Json(inner.to_string())
            } else {
                ModelError::Json(format!("`{path}`: {inner}"))
            }
        })?;
        de.end().map_err(|err| ModelError::Json(err.to_string()))?;
        file.into_network()
    }

    /// The network in the JSON format, pretty-printed with one weight vector per line.
    pub fn to_json_string(&self) -> String {
        let mut out = String::new();
        let rows_a: Vec<&[f64]> = self.a().columns().collect();
        let rows_b: Vec<&[f64]> = self.b().columns().collect();
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{{\n  \"input_dim\": {},", self.input_dim());
        write_layer(&mut out, "layer1", self.g(), &rows_a, self.theta());
        out.push_str(",\n");
        write_layer(&mut out, "layer2", self.h(), &rows_b, self.tau());
        out.push_str("\n}\n");
        out
    }

    /// Reads a network file.
    ///
    /// # Errors
    /// [`ModelError::Io`] if the file cannot be read, [`ModelError::InFile`] (wrapping the
    /// errors of [`Network::from_json_str`]) if it is not a valid network.
    pub fn read_json(path: impl AsRef<Path>) -> Result<Self, ModelError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json_str(&text).map_err(|error| ModelError::InFile {
            path: path.display().to_string(),
            error: Box::new(error),
        })
    }

    /// Writes the network to a file in the JSON format.
    ///
    /// # Errors
    /// [`ModelError::Io`] if the file cannot be written.
    pub fn write_json(&self, path: impl AsRef<Path>) -> Result<(), ModelError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json_string()).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

fn write_layer(out: &mut String, name: &str, act: Activation, rows: &[&[f64]], shifts: &[f64]) {
    let _ = write!(
        out,
        "  \"{name}\": {{\n    \"activation\": \"{act}\",\n    \"weights\": [\n"
    );
    for (k, row) in rows.iter().enumerate() {
        let sep = if k + 1 < rows.len() { "," } else { "" };
        let _ = writeln!(out, "      {}{sep}", number_list(row));
    }
    let _ = write!(out, "    ],\n    \"shifts\": {}\n  }}", number_list(shifts));
}

/// `[x1, x2, …]` with each number in its shortest round-trip form.
fn number_list(xs: &[f64]) -> String {
    let items: Vec<String> = xs
        .iter()
        .map(|&x| serde_json::Value::from(x).to_string())
        .collect();
    format!("[{}]", items.join(", "))
}

impl NetworkFile {
    fn into_network(self) -> Result<Network, ModelError> {
        let d = self.input_dim;
        let m0 = self.layer1.weights.len();
        let m1 = self.layer2.weights.len();
        if d == 0 || m0 == 0 || m1 == 0 {
            return Err(ModelError::Empty { d, m0, m1 });
        }
        check_rows("layer1", &self.layer1.weights, d)?;
        check_vec("layer1.shifts", &self.layer1.shifts, m0)?;
        check_rows("layer2", &self.layer2.weights, m0)?;
        check_vec("layer2.shifts", &self.layer2.shifts, m1)?;
        let a = Mat::from_columns(d, &self.layer1.weights);
        let b = Mat::from_columns(m0, &self.layer2.weights);
        Network::new(
            a,
            self.layer1.shifts,
            b,
            self.layer2.shifts,
            self.layer1.activation,
            self.layer2.activation,
        )
    }
}

fn check_rows(layer: &str, rows: &[Vec<f64>], len: usize) -> Result<(), ModelError> {
    for (i, row) in rows.iter().enumerate() {
        check_vec(&format!("{layer}.weights[{i}]"), row, len)?;
    }
    Ok(())
}

fn check_vec(field: &str, values: &[f64], len: usize) -> Result<(), ModelError> {
    if values.len() != len {
        return Err(ModelError::Shape {
            field: field.to_string(),
            expected: len,
            got: values.len(),
        });
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(ModelError::NonFinite {
            field: field.to_string(),
            index,
            value: values[index],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Network {
        let a = Mat::from_fn(3, 2, |i, j| 0.1 * (i as f64 + 1.0) - 0.3 * j as f64 + 1e-17);
        let b = Mat::from_fn(2, 1, |i, _| if i == 0 { 0.6 } else { -0.8 });
        Network::new(
            a,
            vec![0.1, -1.0 / 3.0],
            b,
            vec![2e-300],
            Activation::Tanh,
            Activation::Sigmoid,
        )
        .unwrap()
    }

    const GOOD: &str = r#"{"input_dim": 3,
        "layer1": {"activation": "tanh", "weights": [[1, 0, 0], [0, 1, 0]], "shifts": [0.1, 0.2]},
        "layer2": {"activation": "sigmoid", "weights": [[0.5, -0.5]], "shifts": [0]}}"#;

    fn err(text: &str) -> String {
        Network::from_json_str(text).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_is_bit_exact_and_rows_are_weight_vectors() {
        let net = small();
        let text = net.to_json_string();
        let back = Network::from_json_str(&text).unwrap();
        assert_eq!(back, net, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let row1 = value["layer1"]["weights"][1].as_array().unwrap();
        assert_eq!(row1.len(), 3);
        for (k, v) in row1.iter().enumerate() {
            assert!((v.as_f64().unwrap() - net.a()[(k, 1)]).abs() < 1e-300);
        }
        assert_eq!(value["layer2"]["activation"], "sigmoid");
    }

    #[test]
    fn reads_the_documented_shape() {
        let net = Network::from_json_str(GOOD).unwrap();
        assert_eq!((net.input_dim(), net.m0(), net.m1()), (3, 2, 1));
        assert!((net.a()[(1, 1)] - 1.0).abs() < 1e-15);
        assert!((net.b()[(1, 0)] + 0.5).abs() < 1e-15);
        assert_eq!((net.g(), net.h()), (Activation::Tanh, Activation::Sigmoid));
    }

    #[test]
    fn rejections_name_the_field() {
        let cases = [
            (
                GOOD.replace("[0, 1, 0]", "[0, 1]"),
                "`layer1.weights[1]`: expected 3 entries, got 2",
            ),
            (
                GOOD.replace("[0.1, 0.2]", "[0.1]"),
                "`layer1.shifts`: expected 2 entries, got 1",
            ),
            (
                GOOD.replace("[0.5, -0.5]", "[0.5, -0.5, 1]"),
                "`layer2.weights[0]`: expected 2",
            ),
            (
                GOOD.replace("\"shifts\": [0]", "\"shifts\": [0, 1]"),
                "`layer2.shifts`: expected 1",
            ),
            (
                GOOD.replace("\"sigmoid\"", "\"relu\""),
                "`layer2.activation`: unknown variant `relu`",
            ),
            (
                GOOD.replace("[0.1, 0.2]", "[0.1, 1e999]"),
                "`layer1.shifts[1]`: number out of range",
            ),
            (
                GOOD.replace("[0.1, 0.2]", "[0.1, NaN]"),
                "`layer1.shifts[1]`",
            ),
            (
                GOOD.replace("[0.1, 0.2]", "[0.1, \"x\"]"),
                "`layer1.shifts[1]`: invalid type: string",
            ),
            (
                GOOD.replace("\"shifts\": [0.1", "\"bias\": 1, \"shifts\": [0.1"),
                "`layer1.bias`: unknown field `bias`, expected one of `activation`",
            ),
            (
                GOOD.replace("\"input_dim\"", "\"dim\""),
                "unknown field `dim`",
            ),
            (
                GOOD.replace("\"input_dim\": 3", "\"input_dim\": -3"),
                "`input_dim`: invalid value",
            ),
            (
                GOOD.replace("\"input_dim\": 3,", ""),
                "missing field `input_dim`",
            ),
            (format!("{GOOD} x"), "trailing characters"),
            (GOOD.replace("[[0.5, -0.5]]", "[]"), "d, m0, m1 ≥ 1"),
        ];
        for (text, want) in cases {
            let got = err(&text);
            assert!(got.contains(want), "expected `{want}` in `{got}`");
        }
    }

    /// The example in docs/file-format.md is a valid network with the documented meaning.
    #[test]
    fn the_documented_example_reads() {
        let doc = include_str!("../../../docs/file-format.md");
        let start = doc.find("```json\n").unwrap() + "```json\n".len();
        let end = start + doc[start..].find("```").unwrap();
        let net = Network::from_json_str(&doc[start..end]).unwrap();
        assert_eq!((net.input_dim(), net.m0(), net.m1()), (3, 2, 1));
        assert!(
            (net.a()[(2, 1)] + 0.8).abs() < 1e-15,
            "row 1 of layer1 is a_1"
        );
        assert!((net.b()[(1, 0)] + std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
        assert!((net.theta()[1] + 0.25).abs() < 1e-15 && (net.tau()[0] - 0.05).abs() < 1e-15);
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("nnid-json-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.json");
        std::fs::write(&path, GOOD.replace("[0.1, 0.2]", "[0.1]")).unwrap();
        let msg = Network::read_json(&path).unwrap_err().to_string();
        assert!(
            msg.contains("bad.json") && msg.contains("`layer1.shifts`"),
            "{msg}"
        );
        let missing = Network::read_json(dir.join("missing.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing.json"), "{missing}");
        let good = dir.join("good.json");
        small().write_json(&good).unwrap();
        assert_eq!(Network::read_json(&good).unwrap(), small());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
