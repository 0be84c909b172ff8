using System.CommandLine;
using Pdnn.Data;
using Spectre.Console;

namespace Pdnn.Cli.Commands;

static class DataInfoCommand
{
    public static Command Create()
    {
        var data = CommonOptions.Data("A data set in any supported layout.");
        var imageSize = CommonOptions.ImageSize();
        var noCache = CommonOptions.NoCache();
        var centerCrop = CommonOptions.CenterCrop();
        var command = new Command("data-info", "Read both splits of a data set (filling the decode cache) and show their classes and counts.")
        {
            data, imageSize, centerCrop, noCache,
        };
        command.SetAction(r => CommonOptions.Run(() =>
        {
            var size = CommonOptions.ParseSize(r.GetValue(imageSize));
            var splits = new[] { Split.Train, Split.Test }
                .Select(s => (Split: s, Data: CommonOptions.LoadData(r.GetValue(data)!, s, size, r.GetValue(noCache), CommonOptions.Mode(r.GetValue(centerCrop))))).ToList();
            var table = new Table().AddColumn("index").AddColumn("class");
            foreach (var s in splits) table.AddColumn(s.Split.ToString().ToLowerInvariant());
            var names = splits[0].Data.ClassNames;
            var counts = splits.Select(s => s.Data.CountPerClass()).ToList();
            for (int k = 0; k < names.Count; k++)
                table.AddRow([k.ToString(), names[k], .. counts.Select(c => k < c.Length ? c[k].ToString() : "-")]);
            AnsiConsole.Write(table);
            return 0;
        }));
        return command;
    }
}
