using System.Globalization;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace Pdnn.Figures;

/// <summary>A line chart as PNG (e.g. accuracy vs ε, one line per defence), drawn by OxyPlot.</summary>
public static class LinePlot
{
    /// <summary>Each series: a name and (x, y) points; y is drawn between <paramref name="yMin"/> and <paramref name="yMax"/>.
    /// <paramref name="xTicks"/> (default: the first series' x values) are labelled by <paramref name="xTickLabel"/>.</summary>
    public static void SavePng(string path, string title, string xLabel, string yLabel,
                               IReadOnlyList<(string Name, IReadOnlyList<(double X, double Y)> Points)> series,
                               double yMin = 0, double yMax = 100, IReadOnlyList<double>? xTicks = null, Func<double, string>? xTickLabel = null)
    {
        if (series.Count == 0 || series.All(s => s.Points.Count == 0))
            throw new ArgumentException("a line chart needs at least one point", nameof(series));
        var model = new PlotModel { Title = title, Background = OxyColors.White, TitleFontSize = 15 };
        var ticks = xTicks ?? series[0].Points.Select(p => p.X).ToList();
        model.Axes.Add(new FixedTicksAxis(ticks)
        {
            Position = AxisPosition.Bottom, Title = xLabel,
            LabelFormatter = xTickLabel ?? (x => x.ToString("0.###", CultureInfo.InvariantCulture)),
            MajorGridlineStyle = LineStyle.Solid, MajorGridlineColor = SeriesStyle.Grid,
            MinimumPadding = 0.03, MaximumPadding = 0.03,
        });
        model.Axes.Add(new LinearAxis
        {
            Position = AxisPosition.Left, Title = yLabel, Minimum = yMin, Maximum = yMax,
            MajorGridlineStyle = LineStyle.Solid, MajorGridlineColor = SeriesStyle.Grid,
        });
        for (int s = 0; s < series.Count; s++)
        {
            var line = new LineSeries
            {
                Title = series[s].Name, Color = SeriesStyle.Colour(s), StrokeThickness = 2,
                LineStyle = SeriesStyle.Dash(s),
                MarkerType = SeriesStyle.Marker(s), MarkerSize = 4, MarkerFill = SeriesStyle.Colour(s),
            };
            line.Points.AddRange(series[s].Points.OrderBy(p => p.X).Select(p => new DataPoint(p.X, p.Y)));
            model.Series.Add(line);
        }
        model.Legends.Add(new Legend { LegendPlacement = LegendPlacement.Outside, LegendPosition = LegendPosition.RightTop, LegendSymbolLength = 28 });

        SeriesStyle.Save(model, path, 900, 540);
    }

    /// <summary>A linear axis with ticks exactly at the given values (e.g. ε = 0, 2, 4, 8, 16, 32 drawn evenly spaced).</summary>
    sealed class FixedTicksAxis(IReadOnlyList<double> ticks) : LinearAxis
    {
        public override void GetTickValues(out IList<double> majorLabelValues, out IList<double> majorTickValues, out IList<double> minorTickValues)
        {
            majorLabelValues = majorTickValues = ticks.Where(t => t >= ActualMinimum && t <= ActualMaximum).ToList();
            minorTickValues = [];
        }
    }
}
