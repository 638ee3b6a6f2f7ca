//! `--format parquet`: the rows read back with the parquet crate equal the CSV's, the file
//! is the same for any thread count, after a resume and when merged from shards, and a
//! partial directory of another sweep is refused.

use std::fs;
use std::path::PathBuf;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

use super::{merge, ok, Setup, SWEEP};

/// 2 routes x 6 counts x 3 intervals x 1000 doses = 36,000 points: three row groups (of
/// 16,384 points), on the exact engine in a fraction of a second.
const BIG: &str = r#"
name = "small"
base = "base.toml"
[[axis]]
path = "dose.route"
values = ["portal_vein", "peripheral_vein"]
[[axis]]
path = "dose.count"
values = [1, 2, 3, 4, 5, 6]
[[axis]]
path = "dose.interval_days"
values = [0.5, 4, 7]
[[axis]]
path = "dose.cells_per_kg"
logspace = { from = 1e5, to = 1e7, steps = 1000 }
[output]
metrics = ["liver_auc", "lung_peak", "days_liver_above_threshold"]
"#;

impl Setup {
    fn file(&self, name: &str) -> PathBuf {
        self.path("out").join("small").join(name)
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        fs::read(self.file(name)).expect("sweep file")
    }
}

#[test]
fn parquet_rows_read_back_equal_the_csv_rows() {
    let s = Setup::new(SWEEP);
    ok(&s.sweep(&[]));
    ok(&s.sweep(&["--format", "parquet"]));
    let csv = s.csv("sweep.csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let file = fs::File::open(s.file("sweep.parquet")).expect("parquet file");
    let reader = SerializedFileReader::new(file).expect("a valid Parquet file");
    let names: Vec<String> = (reader.metadata().file_metadata().schema_descr().columns())
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    assert_eq!(names, header, "the CSV's columns, in order");
    let mut rows = 0;
    let mut errors = 0;
    for (row, line) in reader.get_row_iter(None).expect("rows").zip(lines) {
        let row = row.expect("a row");
        let fields: Vec<&str> = line.splitn(header.len(), ',').collect();
        for ((name, field), text) in row.get_column_iter().zip(&fields) {
            match field {
                Field::Null => assert_eq!(*text, "", "{name} of {line}"),
                Field::Long(v) => assert_eq!(v.to_string(), *text, "{name}"),
                Field::Double(v) => {
                    assert_eq!(Some(*v), text.parse::<f64>().ok(), "{name} of {line}")
                }
                Field::Str(v) => {
                    errors += usize::from(name == "error");
                    // An error message with a comma is quoted in the CSV.
                    assert!(text.contains(v.split(',').next().unwrap_or(v)), "{name}");
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
        rows += 1;
    }
    assert_eq!(rows, csv.lines().count() - 1);
    assert!(errors > 0, "the error rows are there");
}

#[test]
fn parquet_is_the_same_for_threads_resume_and_merged_shards() {
    let s = Setup::new(BIG);
    ok(&s.sweep(&["--format", "parquet", "--threads", "1"]));
    let whole = s.bytes("sweep.parquet");
    let reader = SerializedFileReader::new(fs::File::open(s.file("sweep.parquet")).expect("file"))
        .expect("valid");
    let groups: Vec<i64> = (reader.metadata().row_groups().iter())
        .map(|g| g.num_rows())
        .collect();
    assert_eq!(groups, [16384, 16384, 3232]);
    ok(&s.sweep(&["--format", "parquet", "--threads", "2"]));
    assert_eq!(s.bytes("sweep.parquet"), whole, "1 and 2 threads");

    // Shards end inside row groups; merged, they are cut again at the whole run's groups.
    let shard = |k: u32| s.file(&format!("sweep.shard-{k}-of-3.parquet"));
    for k in 1..=3 {
        ok(&s.sweep(&["--format", "parquet", "--shard", &format!("{k}/3")]));
    }
    fs::remove_file(s.file("sweep.parquet")).expect("remove whole");
    let gap = merge(&s, &[shard(1), shard(3)]);
    assert_eq!(gap.status.code(), Some(2));
    assert!(!s.file("sweep.parquet").exists());
    ok(&merge(&s, &[shard(3), shard(1), shard(2)]));
    assert_eq!(s.bytes("sweep.parquet"), whole, "merged shards");
    ok(&s.sweep(&["--shard", "3/3"]));
    let mixed = merge(&s, &[shard(1), shard(2), s.file("sweep.shard-3-of-3.csv")]);
    assert_eq!(
        mixed.status.code(),
        Some(2),
        "a CSV shard among Parquet ones"
    );

    // A killed run leaves the row groups it had finished, each a Parquet file of its own
    // (written atomically: a temporary sibling may be left too), in sweep.parquet.partial/;
    // the group files are the groups of the whole file, which `read_groups` gives back.
    let sweep = cellpk::sweep::load(&s.path("sweep.toml")).expect("valid sweep");
    let layout = cellpk::sweep::parquet::Layout::of(&sweep);
    let parts: Vec<_> = cellpk::sweep::parquet::read_groups(&s.file("sweep.parquet"), &sweep)
        .expect("readable")
        .map(|g| g.expect("group"))
        .collect();
    let partial = s.file("sweep.parquet.partial");
    for kept in [vec![], vec![0], vec![0, 1], vec![1], vec![0, 2]] {
        fs::remove_file(s.file("sweep.parquet")).ok();
        fs::create_dir_all(&partial).expect("partial dir");
        for &g in &kept {
            let bytes = layout.encode(&sweep, &parts[g]).expect("encodes");
            let first = parts[g].points[0];
            fs::write(partial.join(format!("rows-{first}.parquet")), bytes).expect("group");
        }
        fs::write(partial.join("rows-16384.parquet.tmp"), b"PAR1 cut").expect("tmp");
        let refused = s.sweep(&["--format", "parquet"]);
        assert_eq!(
            refused.status.code(),
            Some(2),
            "a partial run is not overwritten"
        );
        assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
        ok(&s.sweep(&["--format", "parquet", "--resume", "--threads", "2"]));
        assert_eq!(
            s.bytes("sweep.parquet"),
            whole,
            "resumed with groups {kept:?}"
        );
        assert!(!partial.exists());
    }

    // A partial run of the sweep before an edit is refused, and left as it was.
    fs::create_dir_all(&partial).expect("partial dir");
    fs::write(
        s.path("sweep.toml"),
        BIG.replace("steps = 1000", "steps = 999"),
    )
    .expect("edit sweep");
    let refused = s.sweep(&["--format", "parquet", "--resume"]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("(1000 values") && stderr.contains("(999 values"),
        "{stderr}"
    );
    assert!(partial.exists());
}
