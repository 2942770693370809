// PLACEHOLDER: replaced by the helper that owns this subcommand.
#[derive(clap::Args)]
pub struct MvmArgs {}
pub fn run(_args: MvmArgs) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
