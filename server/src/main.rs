fn main() {
    println!("kato-server: engine only for now");
}
