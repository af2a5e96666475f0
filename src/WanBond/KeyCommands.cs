using System.CommandLine;
using WanBond.Core.Security;

namespace WanBond.Cli;

/// <summary>`wanbond genkey` and `wanbond pubkey`: Curve25519 keys in base64, as WireGuard users know them.</summary>
internal static class KeyCommands
{
    public static Command GenKey()
    {
        var output = new Option<string>("--output") { HelpName = "FILE", Description = "Write the key to FILE (created with mode 0600; an existing file is not replaced) instead of standard output." };
        var command = new Command("genkey", "Print a new private key (base64). Keep it secret: umask 077; wanbond genkey > router.key") { output };
        command.SetAction(parse =>
        {
            using var key = StaticKeyPair.Generate();
            var file = parse.GetValue(output);
            if (file is null)
            {
                Console.Out.WriteLine(key.PrivateKeyToBase64());
                return 0;
            }
            try
            {
                KeyFile.WritePrivateKey(file, key);
            }
            catch (KeyFileException e)
            {
                Console.Error.WriteLine($"wanbond genkey: {e.Message}");
                return 1;
            }
            Console.Out.WriteLine(key.PublicKey.ToBase64());
            return 0;
        });
        return command;
    }

    public static Command PubKey()
    {
        var command = new Command("pubkey", "Read a private key (base64) on standard input and print its public key: wanbond pubkey < router.key");
        command.SetAction(_ =>
        {
            var text = Console.In.ReadToEnd().Trim();
            try
            {
                using var key = StaticKeyPair.FromBase64(text);
                Console.Out.WriteLine(key.PublicKey.ToBase64());
                return 0;
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"wanbond pubkey: standard input: {e.Message}");
                return CommandLineRunner.UsageExitCode;
            }
        });
        return command;
    }
}
