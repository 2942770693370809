// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Subcommand)]
pub enum DataCommand { Placeholder }
pub fn run(_command: DataCommand) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
