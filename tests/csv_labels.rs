//! CSV class labels given as names (`setosa`), mapped to indices and back, and errors that
//! name the right column.

use shaped::data::{self, CsvOptions, parse_csv};

#[test]
fn string_labels_become_sorted_class_indices_and_map_back() {
    let text = "sepal_length,sepal_width,species\n5.1,3.5,setosa\n6.3,3.3,virginica\n7.0,3.2,versicolor\n4.9,3.0,setosa\n";
    let options = CsvOptions::new().header(true).label_column(2);
    let mut t = parse_csv::<f64>(text, &options, "flowers.csv").unwrap();
    assert_eq!(
        t.label_names().unwrap(),
        ["setosa", "versicolor", "virginica"]
    );
    let y = t.take_labels(2).unwrap();
    assert_eq!(y.as_slice(), &[0, 2, 1, 0]);
    assert_eq!(y.num_classes(), 3);
    let back: Vec<&str> = y
        .as_slice()
        .iter()
        .map(|&i| y.names()[i].as_str())
        .collect();
    assert_eq!(back, ["setosa", "virginica", "versicolor", "setosa"]);
    assert_eq!(t.header().unwrap(), ["sepal_length", "sepal_width"]);
    assert_eq!(
        t.into_tensor().to_vec(),
        vec![5.1, 3.5, 6.3, 3.3, 7.0, 3.2, 4.9, 3.0]
    );
}

#[test]
fn a_numeric_label_column_keeps_its_indices() {
    let mut t = parse_csv::<f32>(
        "2,0.5\n0,0.25\n",
        &CsvOptions::new().label_column(0),
        "n.csv",
    )
    .unwrap();
    assert!(t.label_names().is_none());
    let y = t.take_labels(0).unwrap();
    assert_eq!((y.as_slice(), y.num_classes()), (&[2, 0][..], 3));
    // Removing another column first keeps the label column's names with it.
    let mut t = parse_csv::<f32>(
        "1,b,7\n2,a,8\n",
        &CsvOptions::new().label_column(1),
        "s.csv",
    )
    .unwrap();
    let first = t.take_labels(0).unwrap();
    assert_eq!(first.as_slice(), &[1, 2]);
    let y = t.take_labels(0).unwrap();
    assert_eq!(
        (y.as_slice(), y.names()),
        (&[1, 0][..], &["a".to_string(), "b".to_string()][..])
    );
}

#[test]
fn iris_from_reads_species_names_in_the_headers_order() {
    let iris = data::iris().unwrap();
    let names = iris.targets().names().to_vec();
    let mut text = String::from("150,4,setosa,versicolor,virginica\n");
    let x = iris.features().to_vec();
    for (row, &label) in x.chunks(4).zip(iris.targets().as_slice()) {
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        text.push_str(&format!("{},{}\n", cells.join(","), names[label]));
    }
    let path = std::env::temp_dir().join(format!("shaped_iris_names_{}.csv", std::process::id()));
    std::fs::write(&path, &text).unwrap();
    let named = data::iris_from(&path).unwrap();
    assert_eq!(named.targets().as_slice(), iris.targets().as_slice());
    assert_eq!(named.targets().names(), names.as_slice());
    assert_eq!(named.features().to_vec(), x);
    // An unknown species is named in the error.
    std::fs::write(&path, text.replacen("setosa\n", "rosa\n", 1)).unwrap();
    let err = data::iris_from(&path).unwrap_err().to_string();
    assert!(
        err.contains("the class \"rosa\" is not among the header's classes"),
        "{err}"
    );
    // A bad feature cell is not annotated with a class name from iris's header.
    std::fs::write(&path, text.replacen("5.1,", "five,", 1)).unwrap();
    let err = data::iris_from(&path).unwrap_err().to_string();
    assert!(err.contains(", column 1: cannot parse \"five\""), "{err}");
    assert!(
        !err.contains("(150)") && !err.contains("virginica"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn errors_name_the_right_column_and_suggest_label_column() {
    let text = "a,b,species\n1,2,setosa\n";
    let err = parse_csv::<f32>(text, &CsvOptions::new().header(true), "f.csv")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "f.csv: line 2, column 3 (species): cannot parse \"setosa\" as a number \
         (for class names in this column, use CsvOptions::label_column(2))"
    );
    let err = parse_csv::<f32>("1,2\n", &CsvOptions::new().label_column(5), "f.csv")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "f.csv: the label column is column 6, but the file has 2 columns"
    );
}
