// obscheck validates the monitoring config with Prometheus's own code:
//
//	obscheck rules FILE...   Prometheus rule files (what a PrometheusRule's spec holds):
//	                         structure, PromQL, label and annotation templates
//	obscheck exprs FILE      one PromQL expression a line (dashboard queries)
//
// It prints every problem and exits 1 when there is one.
package main

import (
	"bufio"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: obscheck rules FILE... | obscheck exprs FILE")
		os.Exit(2)
	}
	problems := 0
	promql := parser.NewParser(parser.Options{})
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	switch os.Args[1] {
	case "rules":
		for _, file := range os.Args[2:] {
			_, errs := rulefmt.ParseFile(file, false, model.UTF8Validation, promql, logger)
			for _, err := range errs {
				fmt.Printf("%s: %v\n", file, err)
				problems++
			}
		}
	case "exprs":
		f, err := os.Open(os.Args[2])
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		defer f.Close()
		scanner := bufio.NewScanner(f)
		scanner.Buffer(make([]byte, 1<<20), 1<<20)
		for line := 1; scanner.Scan(); line++ {
			expr := strings.TrimSpace(scanner.Text())
			if expr == "" {
				continue
			}
			if _, err := promql.ParseExpr(expr); err != nil {
				fmt.Printf("line %d: %q: %v\n", line, expr, err)
				problems++
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[1])
		os.Exit(2)
	}
	if problems > 0 {
		os.Exit(1)
	}
}
